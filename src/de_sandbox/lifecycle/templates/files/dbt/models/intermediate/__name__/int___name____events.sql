{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='window_start',
    )
}}
{#- One row per event with its hour; each run replaces its window. -#}

with

events as (

    select * from {{ ref('stg___name____events') }}
    {{ ingestion_window_filter('window_start') }}

),

enriched as (

    select
        md5(source_file || '/' || event_id) as event_key,
        window_start,
        event_id,
        event_time,
        {{ dbt.date_trunc('hour', 'event_time') }} as event_hour,
        category,
        amount

    from events

),

final as (

    select * from enriched

)

select * from final
