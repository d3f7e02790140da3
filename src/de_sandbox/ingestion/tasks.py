"""Airflow-facing callables of the ingestion DAGs: PythonOperator fills `data_interval_start`/`_end` and
`run_id` from the task context, so a run's window is its data interval; plus the dbt vars of that window."""

from __future__ import annotations

from datetime import datetime

from de_sandbox import ledger
from de_sandbox.ingestion import pipeline, validation

# Cosmos renders these per run: the dbt models filter their incremental batch to the run's window.
DBT_WINDOW_VARS = {
    "window_start": "{{ data_interval_start.strftime('%Y-%m-%d %H:%M:%S') }}",
    "window_end": "{{ data_interval_end.strftime('%Y-%m-%d %H:%M:%S') }}",
}


def check_stale(pipeline_name: str) -> int:
    return pipeline.check_stale(pipeline.PIPELINES[pipeline_name])


def extract(
    pipeline_name: str, data_interval_start: datetime, data_interval_end: datetime, run_id: str
) -> list:
    """A window with nothing to extract skips the rest of the run (a skipped run ends `success`)."""
    from airflow.sdk.exceptions import AirflowSkipException

    try:
        return pipeline.extract(
            pipeline.PIPELINES[pipeline_name], data_interval_start, data_interval_end, run_id
        )
    except ledger.SkipWindow as reason:
        raise AirflowSkipException(str(reason)) from None


def load(
    pipeline_name: str,
    keys: list[str],
    data_interval_start: datetime,
    data_interval_end: datetime,
    run_id: str,
) -> dict:
    spec = pipeline.PIPELINES[pipeline_name]
    return pipeline.load(spec, data_interval_start, data_interval_end, keys, run_id)


def audit(
    pipeline_name: str, data_interval_start: datetime, data_interval_end: datetime, run_id: str
) -> dict:
    return pipeline.audit(pipeline.PIPELINES[pipeline_name], data_interval_start, data_interval_end, run_id)


def validate(
    pipeline_name: str, data_interval_start: datetime, data_interval_end: datetime, run_id: str
) -> int:
    spec = pipeline.PIPELINES[pipeline_name]
    return validation.validate(spec, data_interval_start, data_interval_end, run_id)


def archive(
    pipeline_name: str,
    keys: list[str],
    data_interval_start: datetime,
    data_interval_end: datetime,
    run_id: str,
) -> int:
    spec = pipeline.PIPELINES[pipeline_name]
    return pipeline.archive(spec, data_interval_start, data_interval_end, keys, run_id)
