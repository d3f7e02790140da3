with

orders as (select * from {{ ref('int_orders_enriched') }}),

final as (

    select
        order_date as sales_date,
        store_id,
        count(*) as order_count,
        sum(net_amount) as net_amount,
        sum(margin_amount) as margin_amount
    from orders
    where status <> 'cancelled'
    group by order_date, store_id

)

select * from final
