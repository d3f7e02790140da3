with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

products as (

    select * from {{ ref('stg_shop__products') }}

),

enriched as (

    select
        orders.order_id,
        orders.customer_id,
        orders.product_id,
        products.product_name,
        products.category,
        orders.order_date,
        orders.status,
        orders.quantity,
        products.unit_price,
        cast(orders.quantity * products.unit_price as numeric(12, 2)) as amount,
        orders.status in ('completed', 'shipped') as is_revenue

    from orders
    inner join products
        on orders.product_id = products.product_id

),

final as (

    select * from enriched

)

select * from final
