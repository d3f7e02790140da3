with

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

final as (

    select
        order_id,
        customer_id,
        product_id,
        order_date,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as order_month,
        status,
        category,
        quantity,
        unit_price,
        amount,
        is_revenue

    from orders

)

select * from final
