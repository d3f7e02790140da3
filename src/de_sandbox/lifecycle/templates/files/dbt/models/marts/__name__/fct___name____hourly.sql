{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_hour',
    )
}}
{#- Re-aggregates every hour the run's window touched, over all intermediate rows of those hours. -#}

with

events as (

    select * from {{ ref('int___name____events') }}

),

window_hours as (

    select distinct event_hour from events
    {{ ingestion_window_filter('window_start') }}

),

hourly as (

    select
        md5(events.category || '/' || cast(events.event_hour as varchar)) as hourly_key,
        events.category,
        events.event_hour,
        count(*) as events,
        sum(events.amount) as total_amount

    from events
    inner join window_hours on events.event_hour = window_hours.event_hour
    group by events.category, events.event_hour

),

final as (

    select * from hourly

)

select * from final
