with

orders as (select * from {{ ref('int_orders_enriched') }}),

final as (

    select
        order_id,
        customer_id,
        ordered_at,
        order_date,
        net_amount,
        row_number() over (partition by customer_id order by ordered_at, order_id) as order_sequence,
        lag(order_date) over (partition by customer_id order by ordered_at, order_id) as previous_order_date,
        sum(net_amount) over (
            partition by customer_id order by ordered_at, order_id rows between unbounded preceding and current row
        ) as running_net_amount
    from orders
    where status <> 'cancelled'

)

select * from final
