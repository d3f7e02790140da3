with

returns as (

    select
        category_id,
        count(*) as returned_lines,
        sum(refunded_amount) as refunded_amount
    from {{ ref('fct_returns') }}
    group by category_id

),

sold as (

    select
        category_id,
        sum(line_count) as sold_lines
    from {{ ref('int_category_daily_sales') }}
    group by category_id

),

final as (

    select
        sold.category_id,
        sold.sold_lines,
        coalesce(returns.returned_lines, 0) as returned_lines,
        coalesce(returns.refunded_amount, 0) as refunded_amount,
        cast(coalesce(returns.returned_lines, 0) as numeric(14, 4)) / sold.sold_lines as return_rate
    from sold
    left join returns on sold.category_id = returns.category_id

)

select * from final
