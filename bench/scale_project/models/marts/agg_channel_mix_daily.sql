with

orders as (select * from {{ ref('fct_orders') }}),

final as (

    select
        order_date,
        count(*) filter (where channel = 'web') as web_orders,
        count(*) filter (where channel = 'app') as app_orders,
        count(*) filter (where channel = 'store') as store_orders,
        count(*) as all_orders
    from orders
    group by order_date

)

select * from final
