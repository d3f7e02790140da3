with

lines as (select * from {{ ref('int_order_lines_priced') }}),

final as (

    select
        order_line_id,
        order_id,
        net_amount,
        row_number() over (partition by order_id order by net_amount desc, order_line_id) as rank_in_order,
        sum(net_amount) over (partition by order_id) as order_net_amount
    from lines

)

select * from final
