with

lines as (select * from {{ ref('stg_bench__order_lines') }}),

products as (select * from {{ ref('int_products_enriched') }}),

final as (

    select
        lines.order_line_id,
        lines.order_id,
        lines.line_number,
        lines.product_id,
        products.category_id,
        products.department,
        lines.quantity,
        lines.discount_pct,
        cast(products.list_price * lines.quantity as numeric(14, 2)) as gross_amount,
        cast(products.list_price * lines.quantity * (100 - lines.discount_pct) / 100.0 as numeric(14, 2))
            as net_amount,
        cast(products.unit_cost * lines.quantity as numeric(14, 2)) as cost_amount
    from lines
    inner join products on lines.product_id = products.product_id

)

select * from final
