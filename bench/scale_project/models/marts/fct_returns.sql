{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='return_id') }}

with

returns as (select * from {{ ref('int_returns_enriched') }}),

final as (

    select
        return_id,
        order_line_id,
        order_id,
        product_id,
        category_id,
        reason,
        returned_at,
        refunded_amount
    from returns

)

select * from final
{{ incremental_after('returned_at') }}
