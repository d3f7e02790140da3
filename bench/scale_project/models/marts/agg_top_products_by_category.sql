with

sales as (

    select
        product_id,
        sum(net_amount) as net_amount
    from {{ ref('agg_product_sales_monthly') }}
    group by product_id

),

products as (select * from {{ ref('dim_products') }}),

ranked as (

    select
        products.category_id,
        sales.product_id,
        sales.net_amount,
        rank() over (partition by products.category_id order by sales.net_amount desc, sales.product_id)
            as rank_in_category
    from sales
    inner join products on sales.product_id = products.product_id

),

final as (

    select * from ranked where rank_in_category <= 10

)

select * from final
