with

lines as (select * from {{ ref('int_order_lines_priced') }}),

orders as (select * from {{ ref('stg_bench__orders') }}),

final as (

    select
        orders.order_date as sales_date,
        lines.product_id,
        lines.category_id,
        count(*) as line_count,
        sum(lines.quantity) as item_count,
        sum(lines.net_amount) as net_amount,
        sum(lines.net_amount - lines.cost_amount) as margin_amount
    from lines
    inner join orders on lines.order_id = orders.order_id
    where orders.status <> 'cancelled'
    group by orders.order_date, lines.product_id, lines.category_id

)

select * from final
