with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

orders as (

    select * from {{ ref('int_orders_enriched') }}

),

customer_orders as (

    select
        customer_id,
        count(*) as order_count,
        sum(case when is_revenue then amount else 0 end) as lifetime_value,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date

    from orders
    group by customer_id

),

final as (

    select
        cast(customers.customer_id as integer) as customer_id,
        cast(customers.first_name as varchar) as first_name,
        cast(customers.last_name as varchar) as last_name,
        cast(customers.email as varchar) as email,
        cast(customers.country_code as varchar) as country_code,
        cast(customers.created_at as timestamp) as created_at,
        cast(coalesce(customer_orders.order_count, 0) as integer) as order_count,
        cast(coalesce(customer_orders.lifetime_value, 0) as numeric(12, 2)) as lifetime_value,
        cast(customer_orders.first_order_date as date) as first_order_date,
        cast(customer_orders.last_order_date as date) as last_order_date

    from customers
    left join customer_orders
        on customers.customer_id = customer_orders.customer_id

)

select * from final
