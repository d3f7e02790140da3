with

sales as (select * from {{ ref('fct_daily_sales') }}),

stores as (select * from {{ ref('dim_stores') }}),

final as (

    select
        cast(date_trunc('month', sales.sales_date) as date) as sales_month,
        sales.store_id,
        stores.region,
        sum(sales.order_count) as order_count,
        sum(sales.net_amount) as net_amount
    from sales
    inner join stores on sales.store_id = stores.store_id
    group by 1, 2, 3

)

select * from final
