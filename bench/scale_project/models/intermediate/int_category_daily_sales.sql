with

product_sales as (select * from {{ ref('int_product_daily_sales') }}),

final as (

    select
        sales_date,
        category_id,
        sum(line_count) as line_count,
        sum(item_count) as item_count,
        sum(net_amount) as net_amount,
        sum(margin_amount) as margin_amount
    from product_sales
    group by sales_date, category_id

)

select * from final
