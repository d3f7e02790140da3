with

shipments as (select * from {{ ref('fct_shipments') }}),

final as (

    select
        carrier,
        cast(date_trunc('month', shipped_at) as date) as shipped_month,
        count(*) as shipments,
        avg(delivery_days) as avg_delivery_days,
        max(delivery_days) as max_delivery_days,
        count(*) filter (where delivery_days > 5) as late_shipments
    from shipments
    group by 1, 2

)

select * from final
