with

payments as (select * from {{ ref('stg_bench__payments') }}),

final as (

    select
        order_id,
        count(*) as payment_count,
        sum(amount) as paid_amount,
        min(paid_at) as first_paid_at,
        max(payment_method) as payment_method
    from payments
    group by order_id

)

select * from final
