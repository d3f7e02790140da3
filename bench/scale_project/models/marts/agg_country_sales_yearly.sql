with

orders as (select * from {{ ref('fct_orders') }}),

customers as (select * from {{ ref('dim_customers') }}),

final as (

    select
        customers.country_code,
        cast(extract(year from orders.order_date) as integer) as sales_year,
        count(*) as order_count,
        count(distinct orders.customer_id) as customers,
        sum(orders.net_amount) as net_amount
    from orders
    inner join customers on orders.customer_id = customers.customer_id
    where orders.status <> 'cancelled'
    group by 1, 2

)

select * from final
