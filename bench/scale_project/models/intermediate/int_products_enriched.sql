with

products as (select * from {{ ref('stg_bench__products') }}),

categories as (select * from {{ ref('stg_bench__categories') }}),

final as (

    select
        products.product_id,
        products.product_name,
        products.category_id,
        categories.category_name,
        categories.department,
        products.list_price,
        products.unit_cost,
        products.list_price - products.unit_cost as unit_margin,
        products.is_active
    from products
    inner join categories on products.category_id = categories.category_id

)

select * from final
