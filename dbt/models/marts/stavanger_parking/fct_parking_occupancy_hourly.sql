{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='snapshot_hour',
    )
}}
{#- Re-aggregates every hour the run's window touched, over all intermediate rows of those hours. -#}

with

snapshots as (

    select * from {{ ref('int_parking_snapshots_enriched') }}

),

window_hours as (

    select distinct snapshot_hour from snapshots
    {{ ingestion_window_filter('window_start') }}

),

hourly as (

    select
        md5(snapshots.parking_house || '/' || cast(snapshots.snapshot_hour as varchar)) as occupancy_key,
        snapshots.parking_house,
        snapshots.snapshot_hour,
        count(*) as snapshots,
        min(snapshots.free_spaces) as min_free_spaces,
        max(snapshots.free_spaces) as max_free_spaces,
        round(avg(snapshots.free_spaces), 1) as avg_free_spaces,
        max(snapshots.latitude) as latitude,
        max(snapshots.longitude) as longitude

    from snapshots
    inner join window_hours on snapshots.snapshot_hour = window_hours.snapshot_hour
    group by snapshots.parking_house, snapshots.snapshot_hour

),

final as (

    select * from hourly

)

select * from final
