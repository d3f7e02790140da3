with

stores as (select * from {{ ref('stg_bench__stores') }}),

countries as (select * from {{ ref('stg_bench__countries') }}),

final as (

    select
        stores.store_id,
        stores.store_name,
        stores.store_type,
        stores.opened_on,
        stores.country_code,
        countries.country_name,
        countries.region,
        countries.currency_code
    from stores
    inner join countries on stores.country_code = countries.country_code

)

select * from final
