with source as (select * from {{ source('bench', 'bench_returns') }})

select
    return_id,
    order_line_id,
    reason,
    returned_at
from source
