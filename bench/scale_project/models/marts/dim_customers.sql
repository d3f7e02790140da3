with

customers as (select * from {{ ref('int_customers_enriched') }}),

history as (select * from {{ ref('int_customer_first_last') }}),

final as (

    select
        customers.customer_id,
        customers.full_name,
        customers.email,
        customers.segment,
        customers.country_code,
        customers.region,
        customers.signed_up_at,
        coalesce(history.order_count, 0) as order_count,
        cast(coalesce(history.lifetime_net_amount, 0) as numeric(16, 2)) as lifetime_net_amount,
        history.first_order_date,
        history.last_order_date
    from customers
    left join history on customers.customer_id = history.customer_id

)

select * from final
