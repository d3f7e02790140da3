-- The fact loses no order line on the way from the raw table: returns a row only when the counts differ.
select raw_lines, fact_lines
from
    (select count(*) as raw_lines from {{ source('bench', 'bench_order_lines') }}) as r
cross join
    (select count(*) as fact_lines from {{ ref('fct_order_lines') }}) as f
where raw_lines <> fact_lines
