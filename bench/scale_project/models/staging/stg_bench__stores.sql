with source as (select * from {{ source('bench', 'bench_stores') }})

select
    store_id,
    store_name,
    country_code,
    store_type,
    opened_on
from source
