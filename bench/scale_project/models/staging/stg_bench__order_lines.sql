with source as (select * from {{ source('bench', 'bench_order_lines') }})

select
    order_line_id,
    order_id,
    line_number,
    product_id,
    quantity,
    discount_pct
from source
