{{ config(tags=['rollup']) }}
{#- Rebuilt whole by the asset-driven DAG whenever the hourly fact changes: day totals stay complete. -#}

with

pageviews as (

    select * from {{ ref('fct_wikipedia_pageviews') }}

),

daily as (

    select
        page_key,
        pageview_date,
        count(*) as hours_with_views,
        sum(count_views) as count_views,
        sum(total_response_size) as total_response_size

    from pageviews
    group by page_key, pageview_date

),

final as (

    select
        md5(page_key || '/' || cast(pageview_date as varchar)) as daily_pageview_key,
        page_key,
        pageview_date,
        hours_with_views,
        count_views,
        total_response_size

    from daily

)

select * from final
