"""The task chain every ingestion DAG wires (stale check, extract, load, dbt, audit, validate, archive) and the
callables its tasks run: PythonOperator fills `data_interval_start`/`_end` and `run_id` from the task context, so
a run's window is its data interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.timetables.interval import CronDataIntervalTimetable

from de_sandbox.ingestion import ledger, phases, validation
from de_sandbox.ingestion.sources import PIPELINES
from de_sandbox.orchestration import cosmos as dbt_cosmos
from de_sandbox.orchestration.lineage import LineagePythonOperator, pipeline_datasets
from de_sandbox.settings import Settings, get_ingestion_settings

# Cosmos renders these per run: the dbt models filter their incremental batch to the run's window.
DBT_WINDOW_VARS = {
    "window_start": "{{ data_interval_start.strftime('%Y-%m-%d %H:%M:%S') }}",
    "window_end": "{{ data_interval_end.strftime('%Y-%m-%d %H:%M:%S') }}",
}


def check_stale(pipeline_name: str) -> int:
    return phases.check_stale(PIPELINES[pipeline_name])


def extract(
    pipeline_name: str, data_interval_start: datetime, data_interval_end: datetime, run_id: str
) -> list:
    """A window with nothing to extract skips the rest of the run (a skipped run ends `success`)."""
    from airflow.sdk.exceptions import AirflowSkipException

    try:
        return phases.extract(PIPELINES[pipeline_name], data_interval_start, data_interval_end, run_id)
    except ledger.SkipWindow as reason:
        raise AirflowSkipException(str(reason)) from None


def load(
    pipeline_name: str,
    keys: list[str],
    data_interval_start: datetime,
    data_interval_end: datetime,
    run_id: str,
) -> dict:
    spec = PIPELINES[pipeline_name]
    return phases.load(spec, data_interval_start, data_interval_end, keys, run_id)


def audit(
    pipeline_name: str, data_interval_start: datetime, data_interval_end: datetime, run_id: str
) -> dict:
    return phases.audit(PIPELINES[pipeline_name], data_interval_start, data_interval_end, run_id)


def validate(
    pipeline_name: str, data_interval_start: datetime, data_interval_end: datetime, run_id: str
) -> int:
    spec = PIPELINES[pipeline_name]
    return validation.validate(spec, data_interval_start, data_interval_end, run_id)


def archive(
    pipeline_name: str,
    keys: list[str],
    data_interval_start: datetime,
    data_interval_end: datetime,
    run_id: str,
) -> int:
    spec = PIPELINES[pipeline_name]
    return phases.archive(spec, data_interval_start, data_interval_end, keys, run_id)


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
    """Create the pipeline's tasks in the current DAG and chain them; every phase writes to ops.run_ledger.

    Extract, load and archive declare the datasets they read and write (source -> landing prefix -> raw table;
    Cosmos adds one asset per dbt model), so Airflow's asset graph shows the pipeline from source to mart.
    """
    datasets = pipeline_datasets(PIPELINES[pipeline], settings, get_ingestion_settings())
    check_stale_task = PythonOperator(
        task_id="check_stale", python_callable=check_stale, op_kwargs={"pipeline_name": pipeline}
    )
    extract_task = LineagePythonOperator(
        task_id="extract",
        python_callable=extract,
        op_kwargs={"pipeline_name": pipeline},
        reads=[datasets.source],
        writes=[datasets.landing],
    )
    load_task = LineagePythonOperator(
        task_id="load",
        python_callable=load,
        op_kwargs={"pipeline_name": pipeline, "keys": extract_task.output},
        reads=[datasets.landing],
        writes=[datasets.raw_table],
    )
    # The models' incremental batch is the run's window: data_interval_start/end rendered per run.
    dbt = dbt_cosmos.dbt_task_group("dbt", [f"tag:{dbt_tag}"], settings, {"vars": DBT_WINDOW_VARS})
    audit_task = PythonOperator(task_id="audit", python_callable=audit, op_kwargs={"pipeline_name": pipeline})
    # A failed expectation stays failed on a retry: report it at once.
    validate_task = PythonOperator(
        task_id="validate", python_callable=validate, op_kwargs={"pipeline_name": pipeline}, retries=0
    )
    archive_task = LineagePythonOperator(
        task_id="archive",
        python_callable=archive,
        op_kwargs={"pipeline_name": pipeline, "keys": extract_task.output},
        reads=[datasets.landing],
        writes=[datasets.archive],
    )
    check_stale_task >> extract_task >> load_task >> dbt >> audit_task >> validate_task >> archive_task
