with source as (select * from {{ source('bench', 'bench_customers') }})

select
    customer_id,
    full_name,
    lower(trim(email)) as email,
    country_code,
    segment,
    signed_up_at
from source
