with

daily as (

    select
        sales_date,
        sum(net_amount) as net_amount,
        sum(order_count) as order_count
    from {{ ref('fct_daily_sales') }}
    group by sales_date

),

final as (

    select
        sales_date,
        net_amount,
        order_count,
        avg(net_amount) over (order by sales_date rows between 6 preceding and current row) as net_amount_7d_avg,
        sum(order_count) over (order by sales_date rows between 6 preceding and current row) as order_count_7d
    from daily

)

select * from final
