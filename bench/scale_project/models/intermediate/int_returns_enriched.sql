with

returns as (select * from {{ ref('stg_bench__returns') }}),

lines as (select * from {{ ref('int_order_lines_priced') }}),

final as (

    select
        returns.return_id,
        returns.order_line_id,
        lines.order_id,
        lines.product_id,
        lines.category_id,
        returns.reason,
        returns.returned_at,
        lines.net_amount as refunded_amount
    from returns
    inner join lines on returns.order_line_id = lines.order_line_id

)

select * from final
