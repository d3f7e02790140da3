with source as (select * from {{ source('bench', 'bench_shipments') }})

select
    shipment_id,
    order_id,
    carrier,
    shipped_at,
    delivered_at
from source
