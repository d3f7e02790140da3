{#- Restricts an incremental build to the run's window (vars window_start / window_end, passed by the DAG from
    its data interval); a full build, or one without the vars, takes every row. -#}
{% macro ingestion_window_filter(column) -%}
    {%- if is_incremental() and var('window_start', none) is not none -%}
        where {{ column }} >= cast('{{ var("window_start") }}' as timestamp)
          and {{ column }} < cast('{{ var("window_end") }}' as timestamp)
    {%- endif -%}
{%- endmacro %}
