{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='shipment_id') }}

with

shipments as (select * from {{ ref('int_shipments_timed') }}),

orders as (select * from {{ ref('stg_bench__orders') }}),

final as (

    select
        shipments.shipment_id,
        shipments.order_id,
        orders.store_id,
        shipments.carrier,
        shipments.shipped_at,
        shipments.delivered_at,
        shipments.delivery_days
    from shipments
    inner join orders on shipments.order_id = orders.order_id

)

select * from final
{{ incremental_after('shipped_at') }}
