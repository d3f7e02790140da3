with source as (select * from {{ source('bench', 'bench_countries') }})

select
    country_code,
    country_name,
    currency_code,
    region
from source
