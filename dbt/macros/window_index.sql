{#- An hourly table that grows by an hour a run (the fact) is read an hour at a time: its delete+insert, the
    windowed tests, the audit's count. Without an index each of them scans every hour loaded so far. Rows arrive
    an hour at a time, so a BRIN index on the hour column (a few pages) lets PostgreSQL skip the other hours'
    blocks. Block ranges filled after the index was made are read as if they matched until they are summarized:
    the run summarizes the ranges its hour filled instead of leaving them to autovacuum, and analyzes the table
    (with stale statistics the planner took a 6M-line hour's count for a parallel scan of every hour). Created
    if missing, so a table built before it gets one on its next run; nothing on DuckDB. -#}
{% macro window_index(column) -%}
    {%- if target.type == 'postgres' -%}
        {%- set index = this.identifier ~ '__' ~ column ~ '_brin' -%}
        create index if not exists {{ index }} on {{ this }} using brin ({{ column }});
        select brin_summarize_new_values('{{ this.schema }}.{{ index }}'::regclass);
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
