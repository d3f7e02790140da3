{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='payment_id') }}

with

payments as (select * from {{ ref('stg_bench__payments') }}),

orders as (select * from {{ ref('stg_bench__orders') }}),

final as (

    select
        payments.payment_id,
        payments.order_id,
        orders.customer_id,
        payments.payment_method,
        payments.amount,
        payments.paid_at
    from payments
    inner join orders on payments.order_id = orders.order_id

)

select * from final
{{ incremental_after('paid_at') }}
