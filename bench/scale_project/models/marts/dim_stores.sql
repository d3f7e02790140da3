select * from {{ ref('int_stores_enriched') }}
