"""The one DAG factory of the ingestion pipelines: `pipeline_dag` builds a pipeline's DAG from its config
(`pipelines/<name>.yml`): schedule, owner, retries, doc and the phases it lists."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from de_sandbox.ingestion.config import PipelineConfig, load_config
from de_sandbox.orchestration import cosmos as dbt_cosmos
from de_sandbox.orchestration.ingestion import ingestion_tasks
from de_sandbox.settings import Settings, get_settings


def dag_args(config: PipelineConfig, settings: Settings) -> dict:
    """A run's window is its data interval of the config's cron; backfills work."""
    return {
        "dag_id": config.name,
        "doc_md": config.description,
        "tags": list(config.tags),
        "schedule": CronDataIntervalTimetable(config.cron, timezone=config.timezone),
        "start_date": config.start_date,
        "catchup": config.catchup,
        # DuckDB takes one writer process: a run's tasks go one at a time, one run at a time.
        "max_active_runs": 1,
        "max_active_tasks": 1,
        "default_args": {
            "owner": config.owner,
            "retries": config.retries,
            "retry_delay": timedelta(seconds=config.retry_delay_seconds),
            **dbt_cosmos.pool_args(settings),
        },
    }


def pipeline_dag(name_or_file: str) -> DAG:
    """The DAG of a pipeline, by name or by its DAG file's path (`__file__`: the DAG id is the file stem).

    A config with errors raises PipelineConfigError listing them: only its own DAG file fails to import.
    """
    name = Path(name_or_file).stem if name_or_file.endswith(".py") else name_or_file
    config = load_config(name)
    settings = get_settings()
    with DAG(**dag_args(config, settings)) as dag:
        ingestion_tasks(config, settings)
    return dag
