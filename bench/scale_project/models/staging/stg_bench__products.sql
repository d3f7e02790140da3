with source as (select * from {{ source('bench', 'bench_products') }})

select
    product_id,
    category_id,
    product_name,
    cast(list_price as numeric(10, 2)) as list_price,
    cast(unit_cost as numeric(10, 2)) as unit_cost,
    is_active
from source
