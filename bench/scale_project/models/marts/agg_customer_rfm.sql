with

customers as (select * from {{ ref('dim_customers') }}),

scored as (

    select
        customer_id,
        last_order_date,
        order_count,
        lifetime_net_amount,
        ntile(5) over (order by last_order_date, customer_id) as recency_score,
        ntile(5) over (order by order_count, customer_id) as frequency_score,
        ntile(5) over (order by lifetime_net_amount, customer_id) as monetary_score
    from customers
    where order_count > 0

),

final as (

    select
        *,
        recency_score * 100 + frequency_score * 10 + monetary_score as rfm_cell
    from scored

)

select * from final
