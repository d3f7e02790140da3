"""
### Scale bench: every node of the dbt project in DBT_PROJECT_DIR as Airflow tasks, nothing else

Only `make bench BENCH_PROJECT=scale` runs this DAG (it lives outside `dags/`, so the platform never shows it to
users): it points DBT_PROJECT_DIR at `bench/scale_project` and measures this DAG against a plain `dbt build` of
the same nodes. Unlike `example_pipeline` it has no Great Expectations or dbt docs task, which the plain build
does not run either.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from de_sandbox.orchestration import cosmos as dbt_cosmos
from de_sandbox.settings import get_settings

settings = get_settings()

with DAG(
    dag_id="scale_bench",
    doc_md=__doc__,
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["bench", "dbt"],
    default_args={
        "owner": "data-engineering",
        "retries": 1,
        "retry_delay": timedelta(seconds=10),
        **dbt_cosmos.pool_args(settings),
    },
):
    dbt_cosmos.dbt_task_group("dbt", [], settings)
