"""
### stavanger_parking

Hourly occupancy of Stavanger's parking houses, medallion style; each run's window is its data interval.

1. `check_stale` marks phases of earlier runs stuck in `running` as `stale` in `ops.run_ledger`, reports them.
2. `extract` calls the parking API (`STAVANGER_PARKING_URL`; offline, the bundled recorded responses inside
   the window) and lands each raw JSON response in the raw bucket under a `year=/month=/day=/hour=` key.
3. `load` replaces the window in `raw.stavanger_parking`; bad records go to `ops.quarantine` with a reason.
4. `dbt` builds the models tagged `parking` (Cosmos): bronze `stg_stavanger_parking__snapshots`, silver
   `int_stavanger_parking__snapshots`, gold `fct_stavanger_parking__occupancy_hourly` (per house and hour).
5. `audit` reconciles source = stage + quarantined and stage ~ silver within `AUDIT_TOLERANCE_PCT`.
6. `validate` runs Great Expectations on the window's silver rows; `archive` moves the raw responses away.

Each phase writes its counts, status, error and duration to `ops.run_ledger`. Re-running a window replaces it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable
from cosmos import DbtTaskGroup

from de_sandbox import dbt_cosmos
from de_sandbox.ingestion import tasks
from de_sandbox.settings import get_settings

settings = get_settings()

PIPELINE = "stavanger_parking"

with DAG(
    dag_id="stavanger_parking",
    schedule=CronDataIntervalTimetable("@hourly", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    # DuckDB takes one writer process: a run's tasks go one at a time, one run at a time.
    max_active_runs=1,
    max_active_tasks=1,
    default_args={
        "owner": "ingestion",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        **dbt_cosmos.pool_args(settings),
    },
    tags=["ingestion", "parking"],
    doc_md=__doc__,
) as dag:
    check_stale = PythonOperator(
        task_id="check_stale", python_callable=tasks.check_stale, op_kwargs={"pipeline_name": PIPELINE}
    )
    extract = PythonOperator(
        task_id="extract", python_callable=tasks.extract, op_kwargs={"pipeline_name": PIPELINE}
    )
    load = PythonOperator(
        task_id="load",
        python_callable=tasks.load,
        op_kwargs={"pipeline_name": PIPELINE, "keys": extract.output},
    )
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=dbt_cosmos.project_config(settings),
        profile_config=dbt_cosmos.profile_config(settings),
        execution_config=dbt_cosmos.execution_config(),
        render_config=dbt_cosmos.render_config(select=["tag:parking"]),
        # The models' incremental batch is the run's window: data_interval_start/end rendered per run.
        operator_args={**dbt_cosmos.operator_args(), "vars": tasks.DBT_WINDOW_VARS},
    )
    audit = PythonOperator(
        task_id="audit", python_callable=tasks.audit, op_kwargs={"pipeline_name": PIPELINE}
    )
    # A failed expectation stays failed on a retry: report it at once.
    validate = PythonOperator(
        task_id="validate", python_callable=tasks.validate, op_kwargs={"pipeline_name": PIPELINE}, retries=0
    )
    archive = PythonOperator(
        task_id="archive",
        python_callable=tasks.archive,
        op_kwargs={"pipeline_name": PIPELINE, "keys": extract.output},
    )

    check_stale >> extract >> load >> dbt >> audit >> validate >> archive
