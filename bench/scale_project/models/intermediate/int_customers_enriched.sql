with

customers as (select * from {{ ref('stg_bench__customers') }}),

countries as (select * from {{ ref('stg_bench__countries') }}),

final as (

    select
        customers.customer_id,
        customers.full_name,
        customers.email,
        customers.segment,
        customers.signed_up_at,
        customers.country_code,
        countries.country_name,
        countries.region
    from customers
    inner join countries on customers.country_code = countries.country_code

)

select * from final
