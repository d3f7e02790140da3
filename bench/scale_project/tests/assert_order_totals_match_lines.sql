-- An order's net amount is the sum of its lines' net amounts.
select o.order_id
from {{ ref('fct_orders') }} as o
inner join (
    select order_id, sum(net_amount) as net_amount from {{ ref('fct_order_lines') }} group by order_id
) as l on o.order_id = l.order_id
where o.net_amount <> l.net_amount
