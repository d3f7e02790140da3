{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='measured_hour',
    )
}}
{#- Re-aggregates every hour the run's window touched, over all intermediate rows of those hours. -#}

with

readings as (

    select * from {{ ref('int___name____readings') }}

),

window_hours as (

    select distinct measured_hour from readings
    {{ ingestion_window_filter('window_start') }}

),

hourly as (

    select
        md5(readings.station || '/' || cast(readings.measured_hour as varchar)) as hourly_key,
        readings.station,
        readings.measured_hour,
        count(*) as readings,
        min(readings.reading) as min_reading,
        max(readings.reading) as max_reading,
        round(cast(avg(readings.reading) as numeric), 2) as avg_reading

    from readings
    inner join window_hours on readings.measured_hour = window_hours.measured_hour
    group by readings.station, readings.measured_hour

),

final as (

    select * from hourly

)

select * from final
