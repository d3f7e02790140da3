{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        pre_hook="{{ parallel_scan() }}",
        post_hook="{{ window_index('pageview_hour') }}",
        unique_key='pageview_hour',
    )
}}
{#- delete+insert on the hour replaces a whole window, so re-running an hour never duplicates rows. -#}

with

pageviews as (

    select * from {{ ref('stg_wikipedia__pageviews') }}
    {{ ingestion_window_filter('pageview_hour') }}

),

final as (

    select
        md5(page_key || '/' || cast(pageview_hour as varchar)) as pageview_key,
        page_key,
        pageview_hour,
        cast(pageview_hour as date) as pageview_date,
        extract(hour from pageview_hour) as hour_of_day,
        count_views,
        total_response_size

    from pageviews

)

select * from final
