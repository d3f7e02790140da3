with source as (select * from {{ source('bench', 'bench_payments') }})

select
    payment_id,
    order_id,
    payment_method,
    cast(amount as numeric(12, 2)) as amount,
    paid_at
from source
