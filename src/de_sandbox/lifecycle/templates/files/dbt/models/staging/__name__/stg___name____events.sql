{#- The landed lines as delivered, renamed and typed, one row per line. -#}

with

source as (

    select * from {{ source('__name__', '__name__') }}

),

renamed as (

    select
        cast(window_start as timestamp) as window_start,
        cast(event_id as varchar(100)) as event_id,
        cast(event_time as timestamp) as event_time,
        lower(trim(category)) as category,
        cast(amount as numeric(12, 2)) as amount,
        source_file,
        loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
