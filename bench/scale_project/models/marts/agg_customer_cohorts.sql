with

orders as (select * from {{ ref('int_customer_orders') }}),

firsts as (select * from {{ ref('int_customer_first_last') }}),

final as (

    select
        cast(date_trunc('month', firsts.first_order_date) as date) as cohort_month,
        (cast(extract(year from orders.order_date) as integer) - cast(extract(year from firsts.first_order_date) as integer))
        * 12
        + cast(extract(month from orders.order_date) as integer)
        - cast(extract(month from firsts.first_order_date) as integer) as months_since_first_order,
        count(distinct orders.customer_id) as active_customers,
        sum(orders.net_amount) as net_amount
    from orders
    inner join firsts on orders.customer_id = firsts.customer_id
    group by 1, 2

)

select * from final
