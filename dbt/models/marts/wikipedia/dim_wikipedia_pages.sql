{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ parallel_scan() }}",
    )
}}
{#- A page's attributes follow from its key (md5 of domain_code and page_title), so a run appends only the
    window's pages not in the table yet: no delete and re-insert of millions of unchanged pages per hour. -#}

with

pageviews as (

    select * from {{ ref('stg_wikipedia__pageviews') }}
    {{ ingestion_window_filter('pageview_hour') }}

),

pages as (

    select distinct
        page_key,
        domain_code,
        page_title,
        language_code,
        project,
        is_mobile

    from pageviews

),

new_pages as (

    select * from pages
    {% if is_incremental() -%}
        where not exists (select 1 from {{ this }} as known where known.page_key = pages.page_key)
    {%- endif %}

),

final as (

    select * from new_pages

)

select * from final
