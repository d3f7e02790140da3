with source as (select * from {{ source('bench', 'bench_categories') }})

select
    category_id,
    category_name,
    department
from source
