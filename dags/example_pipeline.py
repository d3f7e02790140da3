"""
### Example pipeline: raw CSVs to tested marts, validated by Great Expectations

dbt seed loads the shop's raw CSVs (`seeds/`), Cosmos runs every dbt model and its tests as Airflow tasks
(rendered from the manifest of `dbt parse`), then a Great Expectations checkpoint validates the raw and mart
tables and rebuilds the Data Docs. `DBT_PROJECT_DIR` swaps in any dbt project that needs no packages;
`WAREHOUSE` picks DuckDB (default) or PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from de_sandbox.orchestration import cosmos as dbt_cosmos
from de_sandbox.orchestration.quality import gx_validation_task
from de_sandbox.settings import get_settings

settings = get_settings()

with DAG(
    dag_id="example_pipeline",
    doc_md=__doc__,
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["example", "dbt", "great-expectations"],
    default_args={
        "owner": "data-engineering",
        "retries": 1,
        "retry_delay": timedelta(seconds=10),
        **dbt_cosmos.pool_args(settings),
    },
):
    transform = dbt_cosmos.dbt_task_group("dbt", dbt_cosmos.select_for(settings, "shop"), settings)
    validate = gx_validation_task()
    docs = dbt_cosmos.docs_task()

    transform >> validate >> docs
