with source as (select * from {{ source('bench', 'bench_orders') }})

select
    order_id,
    customer_id,
    store_id,
    ordered_at,
    cast(ordered_at as date) as order_date,
    channel,
    status
from source
