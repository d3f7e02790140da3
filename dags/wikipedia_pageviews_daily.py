"""
### wikipedia_pageviews_daily

Daily Wikipedia pageviews per page, scheduled on data instead of on the clock: it runs each time an ingestion run
of `wikipedia_pageviews` has updated `marts.fct_wikipedia_pageviews` (Cosmos emits that asset when the model
builds). Its one dbt model, `marts.fct_wikipedia_pageviews_daily` (tag `rollup`), is rebuilt whole and tested.

In the UI: Assets -> the `.../marts/fct_wikipedia_pageviews` asset shows the tasks that update it and this DAG,
which it schedules; its runs are of type `asset_triggered`.
"""

from __future__ import annotations

from airflow.sdk import DAG

from de_sandbox.orchestration.assets import asset_dag_args, dbt_models_task_group
from de_sandbox.settings import get_settings

settings = get_settings()

with DAG(
    dag_id="wikipedia_pageviews_daily",
    doc_md=__doc__,
    tags=["asset-driven", "wikipedia", "dbt"],
    **asset_dag_args(settings, ["marts.fct_wikipedia_pageviews"]),
):
    dbt_models_task_group("rollup", settings)
