{#- The landed snapshots as delivered, renamed and typed, one row per record. -#}

with

source as (

    select * from {{ source('stavanger_parking', 'stavanger_parking') }}

),

renamed as (

    select
        cast(window_start as timestamp) as window_start,
        cast(snapshot_at as timestamp) as snapshot_at,
        trim(parking_house) as parking_house,
        cast(latitude as double precision) as latitude,
        cast(longitude as double precision) as longitude,
        cast(free_spaces as integer) as free_spaces,
        source_file,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
