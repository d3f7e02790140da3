"""The task chain every ingestion DAG wires: stale check, extract, load, dbt, audit, validate, archive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.timetables.interval import CronDataIntervalTimetable
from cosmos import DbtTaskGroup

from de_sandbox import dbt_cosmos
from de_sandbox.ingestion import tasks
from de_sandbox.settings import Settings


def hourly_dag_args(settings: Settings) -> dict[str, Any]:
    """Schedule and defaults of an hourly ingestion DAG: a run's window is its data interval; backfills work."""
    return {
        "schedule": CronDataIntervalTimetable("@hourly", timezone="UTC"),
        "start_date": datetime(2026, 1, 1, tzinfo=UTC),
        "catchup": False,
        # DuckDB takes one writer process: a run's tasks go one at a time, one run at a time.
        "max_active_runs": 1,
        "max_active_tasks": 1,
        "default_args": {
            "owner": "ingestion",
            "retries": 2,
            "retry_delay": timedelta(minutes=1),
            **dbt_cosmos.pool_args(settings),
        },
    }


def ingestion_tasks(pipeline: str, dbt_tag: str, settings: Settings) -> None:
    """Create the pipeline's tasks in the current DAG and chain them; every phase writes to ops.run_ledger."""
    check_stale = PythonOperator(
        task_id="check_stale", python_callable=tasks.check_stale, op_kwargs={"pipeline_name": pipeline}
    )
    extract = PythonOperator(
        task_id="extract", python_callable=tasks.extract, op_kwargs={"pipeline_name": pipeline}
    )
    load = PythonOperator(
        task_id="load",
        python_callable=tasks.load,
        op_kwargs={"pipeline_name": pipeline, "keys": extract.output},
    )
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=dbt_cosmos.project_config(settings),
        profile_config=dbt_cosmos.profile_config(settings),
        execution_config=dbt_cosmos.execution_config(),
        render_config=dbt_cosmos.render_config(select=[f"tag:{dbt_tag}"]),
        # The models' incremental batch is the run's window: data_interval_start/end rendered per run.
        operator_args={**dbt_cosmos.operator_args(), "vars": tasks.DBT_WINDOW_VARS},
    )
    audit = PythonOperator(
        task_id="audit", python_callable=tasks.audit, op_kwargs={"pipeline_name": pipeline}
    )
    # A failed expectation stays failed on a retry: report it at once.
    validate = PythonOperator(
        task_id="validate", python_callable=tasks.validate, op_kwargs={"pipeline_name": pipeline}, retries=0
    )
    archive = PythonOperator(
        task_id="archive",
        python_callable=tasks.archive,
        op_kwargs={"pipeline_name": pipeline, "keys": extract.output},
    )
    check_stale >> extract >> load >> dbt >> audit >> validate >> archive
