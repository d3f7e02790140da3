with

orders as (select * from {{ ref('stg_bench__orders') }}),

totals as (select * from {{ ref('int_orders_totals') }}),

payments as (select * from {{ ref('int_payments_by_order') }}),

shipments as (select * from {{ ref('int_shipments_timed') }}),

final as (

    select
        orders.order_id,
        orders.customer_id,
        orders.store_id,
        orders.ordered_at,
        orders.order_date,
        orders.channel,
        orders.status,
        totals.line_count,
        totals.item_count,
        totals.gross_amount,
        totals.net_amount,
        totals.margin_amount,
        coalesce(payments.paid_amount, 0) as paid_amount,
        payments.payment_method,
        shipments.carrier,
        shipments.delivery_days
    from orders
    inner join totals on orders.order_id = totals.order_id
    left join payments on orders.order_id = payments.order_id
    left join shipments on orders.order_id = shipments.order_id

)

select * from final
