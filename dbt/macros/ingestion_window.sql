{#- Restricts an incremental build to the run's window (vars window_start / window_end, passed by the DAG from
    its data interval); a full build, or one without the vars, takes every row. -#}
{% macro ingestion_window_filter(column) -%}
    {%- if is_incremental() and var('window_start', none) is not none -%}
        where {{ column }} >= {{ window_bound('window_start') }}
          and {{ column }} < {{ window_bound('window_end') }}
    {%- endif -%}
{%- endmacro %}

{#- One end of the run's window (the var `window_start` or `window_end`) as a timestamp literal. -#}
{% macro window_bound(name) -%}
    cast('{{ var(name) }}' as timestamp)
{%- endmacro %}

{#- dbt's `where` for generic tests, plus two placeholders: `__window_start__` and `__window_end__` become the
    run's window (vars window_start / window_end), so an hourly run tests its own hour instead of every hour
    loaded so far (their time grew with each 6M-line hour). Without the vars (a full build, `make dbt`) such a
    test covers every row. A window column's own not_null test takes no window: it would filter out its nulls. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__window_' in where -%}
        {%- if var('window_start', none) is none -%}
            {%- set where = '' -%}
        {%- else -%}
            {%- set where = where
                | replace('__window_start__', window_bound('window_start'))
                | replace('__window_end__', window_bound('window_end')) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if where -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
