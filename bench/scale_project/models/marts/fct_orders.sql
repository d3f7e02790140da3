{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_id') }}

with

orders as (select * from {{ ref('int_orders_enriched') }}),

final as (

    select
        order_id,
        customer_id,
        store_id,
        ordered_at,
        order_date,
        channel,
        status,
        line_count,
        item_count,
        gross_amount,
        net_amount,
        margin_amount,
        paid_amount,
        payment_method,
        carrier,
        delivery_days
    from orders

)

select * from final
{{ incremental_after('ordered_at') }}
