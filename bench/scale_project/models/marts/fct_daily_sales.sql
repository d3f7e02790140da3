{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='sales_date') }}
{#- delete+insert on the date replaces whole days, so a late order of an earlier day is never counted twice. -#}

with

store_sales as (select * from {{ ref('int_store_daily_sales') }}),

final as (

    select
        sales_date,
        cast(sales_date as timestamp) as sales_day_start,
        store_id,
        order_count,
        net_amount,
        margin_amount
    from store_sales

)

select * from final
{{ incremental_after('sales_day_start') }}
