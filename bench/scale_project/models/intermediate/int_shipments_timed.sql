with

shipments as (select * from {{ ref('stg_bench__shipments') }}),

final as (

    select
        shipment_id,
        order_id,
        carrier,
        shipped_at,
        delivered_at,
        cast(delivered_at as date) - cast(shipped_at as date) as delivery_days
    from shipments

)

select * from final
