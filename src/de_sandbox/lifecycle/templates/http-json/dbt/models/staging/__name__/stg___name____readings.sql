{#- The landed records as delivered, renamed and typed, one row per record. -#}

with

source as (

    select * from {{ source('__name__', '__name__') }}

),

renamed as (

    select
        cast(window_start as timestamp) as window_start,
        trim(station) as station,
        cast(measured_at as timestamp) as measured_at,
        cast(value as double precision) as reading,
        source_file,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
