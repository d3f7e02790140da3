{{ config(materialized='view') }}

with

facts as (

    select * from {{ ref('fct_wikipedia_pageviews') }}

),

pages as (

    select * from {{ ref('dim_wikipedia_pages') }}

),

final as (

    select
        facts.pageview_hour,
        facts.pageview_date,
        facts.hour_of_day,
        pages.domain_code,
        pages.language_code,
        pages.project,
        pages.is_mobile,
        pages.page_title,
        facts.count_views

    from facts
    inner join pages on facts.page_key = pages.page_key

)

select * from final
