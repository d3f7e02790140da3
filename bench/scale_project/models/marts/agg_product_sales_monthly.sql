with

sales as (select * from {{ ref('int_product_daily_sales') }}),

final as (

    select
        cast(date_trunc('month', sales_date) as date) as sales_month,
        product_id,
        sum(item_count) as item_count,
        sum(net_amount) as net_amount,
        sum(margin_amount) as margin_amount
    from sales
    group by 1, 2

)

select * from final
