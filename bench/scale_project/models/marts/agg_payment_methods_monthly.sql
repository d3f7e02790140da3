with

payments as (select * from {{ ref('fct_payments') }}),

final as (

    select
        cast(date_trunc('month', paid_at) as date) as paid_month,
        payment_method,
        count(*) as payments,
        sum(amount) as amount
    from payments
    group by 1, 2

)

select * from final
