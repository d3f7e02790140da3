with

orders as (select * from {{ ref('int_customer_orders') }}),

final as (

    select
        customer_id,
        count(*) as order_count,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        sum(net_amount) as lifetime_net_amount,
        avg(order_date - previous_order_date) as avg_days_between_orders
    from orders
    group by customer_id

)

select * from final
