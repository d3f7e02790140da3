{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_line_id') }}

with

lines as (select * from {{ ref('int_order_lines_priced') }}),

orders as (select * from {{ ref('stg_bench__orders') }}),

ranked as (select * from {{ ref('int_order_lines_ranked') }}),

final as (

    select
        lines.order_line_id,
        lines.order_id,
        orders.customer_id,
        orders.store_id,
        lines.product_id,
        orders.ordered_at,
        orders.order_date,
        lines.quantity,
        lines.discount_pct,
        lines.gross_amount,
        lines.net_amount,
        lines.cost_amount,
        ranked.rank_in_order
    from lines
    inner join orders on lines.order_id = orders.order_id
    inner join ranked on lines.order_line_id = ranked.order_line_id

)

select * from final
{{ incremental_after('ordered_at') }}
