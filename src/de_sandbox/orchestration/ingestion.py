"""The task chain of an ingestion DAG (stale check, extract, load, dbt, audit, validate, archive: those its config
lists) and the callables its tasks run: PythonOperator fills `data_interval_start`/`_end` and `run_id` from the
task context, so a run's window is its data interval."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.operators.python import PythonOperator

from de_sandbox.ingestion import ledger, phases, validation
from de_sandbox.ingestion.config import PipelineConfig
from de_sandbox.ingestion.sources import pipeline
from de_sandbox.orchestration import cosmos as dbt_cosmos
from de_sandbox.orchestration.lineage import LineagePythonOperator, pipeline_datasets
from de_sandbox.settings import Settings, get_ingestion_settings

# Cosmos renders these per run: the dbt models filter their incremental batch to the run's window.
DBT_WINDOW_VARS = {
    "window_start": "{{ data_interval_start.strftime('%Y-%m-%d %H:%M:%S') }}",
    "window_end": "{{ data_interval_end.strftime('%Y-%m-%d %H:%M:%S') }}",
}


def check_stale(pipeline_name: str) -> int:
    return phases.check_stale(pipeline(pipeline_name))


def extract(
    pipeline_name: str, data_interval_start: datetime, data_interval_end: datetime, run_id: str
) -> list:
    """A window with nothing to extract skips the rest of the run (a skipped run ends `success`)."""
    from airflow.sdk.exceptions import AirflowSkipException

    try:
        return phases.extract(pipeline(pipeline_name), data_interval_start, data_interval_end, run_id)
    except ledger.SkipWindow as reason:
        raise AirflowSkipException(str(reason)) from None


def load(
    pipeline_name: str,
    keys: list[str],
    data_interval_start: datetime,
    data_interval_end: datetime,
    run_id: str,
) -> dict:
    spec = pipeline(pipeline_name)
    return phases.load(spec, data_interval_start, data_interval_end, keys, run_id)


def audit(
    pipeline_name: str, data_interval_start: datetime, data_interval_end: datetime, run_id: str
) -> dict:
    return phases.audit(pipeline(pipeline_name), data_interval_start, data_interval_end, run_id)


def validate(
    pipeline_name: str, data_interval_start: datetime, data_interval_end: datetime, run_id: str
) -> int:
    spec = pipeline(pipeline_name)
    return validation.validate(spec, data_interval_start, data_interval_end, run_id)


def archive(
    pipeline_name: str,
    keys: list[str],
    data_interval_start: datetime,
    data_interval_end: datetime,
    run_id: str,
) -> int:
    spec = pipeline(pipeline_name)
    return phases.archive(spec, data_interval_start, data_interval_end, keys, run_id)


def ingestion_tasks(config: PipelineConfig, settings: Settings) -> None:
    """Create the configured phases' tasks in the current DAG and chain them in their fixed order; every phase
    writes to ops.run_ledger.

    Extract, load and archive declare the datasets they read and write (source -> landing prefix -> raw table;
    Cosmos adds one asset per dbt model), so Airflow's asset graph shows the pipeline from source to mart.
    """
    name = config.name
    datasets = pipeline_datasets(pipeline(config.path), settings, get_ingestion_settings())
    extract_task = LineagePythonOperator(
        task_id="extract",
        python_callable=extract,
        op_kwargs={"pipeline_name": name},
        reads=[datasets.source],
        writes=[datasets.landing],
    )
    tasks = {
        "check_stale": lambda: PythonOperator(
            task_id="check_stale", python_callable=check_stale, op_kwargs={"pipeline_name": name}
        ),
        "extract": lambda: extract_task,
        "load": lambda: LineagePythonOperator(
            task_id="load",
            python_callable=load,
            op_kwargs={"pipeline_name": name, "keys": extract_task.output},
            reads=[datasets.landing],
            writes=[datasets.raw_table],
        ),
        "dbt": lambda: dbt_cosmos.dbt_task_group(
            # The models' incremental batch is the run's window: data_interval_start/end rendered per run.
            # One try of each dbt task at a time across runs (a backfill runs 4): two first builds of an
            # incremental model race creating it ("relation ... already exists", seen on PostgreSQL), and two
            # delete+inserts of one shared table (dim_wikipedia_pages) must not interleave.
            "dbt",
            [f"tag:{config.dbt_tag}"],
            settings,
            {"vars": DBT_WINDOW_VARS, "max_active_tis_per_dag": 1},
        ),
        "audit": lambda: PythonOperator(
            task_id="audit", python_callable=audit, op_kwargs={"pipeline_name": name}
        ),
        # A failed expectation stays failed on a retry: report it at once.
        "validate": lambda: PythonOperator(
            task_id="validate", python_callable=validate, op_kwargs={"pipeline_name": name}, retries=0
        ),
        "archive": lambda: LineagePythonOperator(
            task_id="archive",
            python_callable=archive,
            op_kwargs={"pipeline_name": name, "keys": extract_task.output},
            reads=[datasets.landing],
            writes=[datasets.archive],
        ),
    }
    chain = [tasks[phase]() for phase in config.phases]
    for upstream, downstream in zip(chain, chain[1:], strict=False):
        upstream >> downstream
