with

customers as (select * from {{ ref('dim_customers') }}),

final as (

    select
        segment,
        region,
        count(*) as customers,
        count(*) filter (where order_count > 0) as ordering_customers,
        sum(lifetime_net_amount) as lifetime_net_amount
    from customers
    group by 1, 2

)

select * from final
