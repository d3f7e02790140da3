select * from {{ ref('int_products_enriched') }}
