{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='window_start',
    )
}}
{#- One row per parking house and snapshot time, with its hour; each run replaces its window. -#}

with

snapshots as (

    select * from {{ ref('stg_stavanger_parking__snapshots') }}
    {{ ingestion_window_filter('window_start') }}

),

cleaned as (

    select
        md5(parking_house || '/' || cast(snapshot_at as varchar)) as snapshot_key,
        window_start,
        snapshot_at,
        {{ dbt.date_trunc('hour', 'snapshot_at') }} as snapshot_hour,
        parking_house,
        latitude,
        longitude,
        free_spaces

    from snapshots

),

final as (

    select * from cleaned

)

select * from final
