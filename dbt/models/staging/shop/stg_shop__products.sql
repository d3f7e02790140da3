with

source as (

    select * from {{ ref('raw_products') }}

),

renamed as (

    select
        cast(id as integer) as product_id,
        trim(name) as product_name,
        lower(trim(category)) as category,
        cast(unit_price as numeric(10, 2)) as unit_price

    from source

),

final as (

    select * from renamed

)

select * from final
