with

source as (

    select * from {{ ref('raw_orders') }}

),

renamed as (

    select
        cast(id as integer) as order_id,
        cast(customer_id as integer) as customer_id,
        cast(product_id as integer) as product_id,
        cast(order_date as date) as order_date,
        cast(quantity as integer) as quantity,
        lower(trim(status)) as status

    from source

),

final as (

    select * from renamed

)

select * from final
