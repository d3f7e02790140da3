{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='window_start',
    )
}}
{#- One row per station and reading time, with its hour; each run replaces its window. -#}

with

readings as (

    select * from {{ ref('stg___name____readings') }}
    {{ ingestion_window_filter('window_start') }}

),

enriched as (

    select
        md5(station || '/' || cast(measured_at as varchar)) as reading_key,
        window_start,
        station,
        measured_at,
        {{ dbt.date_trunc('hour', 'measured_at') }} as measured_hour,
        reading

    from readings

),

final as (

    select * from enriched

)

select * from final
