{#- Incremental models take only rows newer than what they already hold (the first build takes everything). -#}
{% macro incremental_after(column) -%}
    {%- if is_incremental() -%}
        where {{ column }} > (select coalesce(max({{ column }}), cast('1900-01-01' as timestamp)) from {{ this }})
    {%- endif -%}
{%- endmacro %}
