{#- PostgreSQL plans a scan in parallel only when handing its rows to the leader looks cheap; at the default
    parallel_tuple_cost it never does for a model that writes every row it reads, although md5 over millions of
    rows dominates such a build (a 6M-row hour's fact: 32 s serial, 16 s with 2 workers). Lowered for the
    model's own transaction only; nothing on DuckDB. -#}
{% macro parallel_scan() -%}
    {%- if target.type == 'postgres' -%}
        set local parallel_tuple_cost = 0.001
    {%- endif -%}
{%- endmacro %}
