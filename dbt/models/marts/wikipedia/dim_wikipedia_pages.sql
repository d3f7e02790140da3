{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='page_key',
    )
}}

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

final as (

    select * from pages

)

select * from final
