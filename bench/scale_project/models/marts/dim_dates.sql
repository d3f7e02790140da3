with

dates as (select distinct order_date as date_day from {{ ref('stg_bench__orders') }}),

final as (

    select
        date_day,
        cast(extract(year from date_day) as integer) as year_number,
        cast(extract(month from date_day) as integer) as month_number,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(date_trunc('month', date_day) as date) as month_start,
        cast(extract(dow from date_day) as integer) as day_of_week
    from dates

)

select * from final
