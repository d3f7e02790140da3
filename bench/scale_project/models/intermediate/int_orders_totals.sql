with

lines as (select * from {{ ref('int_order_lines_priced') }}),

final as (

    select
        order_id,
        count(*) as line_count,
        sum(quantity) as item_count,
        sum(gross_amount) as gross_amount,
        sum(net_amount) as net_amount,
        sum(cost_amount) as cost_amount,
        sum(net_amount) - sum(cost_amount) as margin_amount
    from lines
    group by order_id

)

select * from final
