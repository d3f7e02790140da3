select order_id, status, amount from {{ ref('probe_orders') }}
