with

sales as (select * from {{ ref('int_category_daily_sales') }}),

products as (select distinct category_id, category_name, department from {{ ref('dim_products') }}),

final as (

    select
        cast(date_trunc('month', sales.sales_date) as date) as sales_month,
        sales.category_id,
        products.category_name,
        products.department,
        sum(sales.item_count) as item_count,
        sum(sales.net_amount) as net_amount
    from sales
    inner join products on sales.category_id = products.category_id
    group by 1, 2, 3, 4

)

select * from final
