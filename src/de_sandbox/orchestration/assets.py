"""DAGs scheduled on data: the warehouse tables they wait for, as the assets Cosmos emits, and the dbt task group
they run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from airflow.sdk import Asset, AssetAll, TaskGroup

from de_sandbox.lineage.datasets import warehouse_table
from de_sandbox.orchestration import cosmos as dbt_cosmos
from de_sandbox.orchestration.lineage import asset
from de_sandbox.settings import Settings


def table_asset(settings: Settings, table: str) -> Asset:
    """The asset of a warehouse table (`schema.table`): the one Cosmos emits each time its model is built."""
    return asset(warehouse_table(settings, table))


def asset_dag_args(settings: Settings, tables: list[str]) -> dict[str, Any]:
    """Schedule and defaults of a DAG that runs once every table in `tables` has been updated since its last run."""
    assets = [table_asset(settings, table) for table in tables]
    return {
        "schedule": assets[0] if len(assets) == 1 else AssetAll(*assets),
        "start_date": datetime(2026, 1, 1, tzinfo=UTC),
        "catchup": False,
        "max_active_runs": 1,
        "default_args": {
            "owner": "analytics",
            "retries": 1,
            "retry_delay": timedelta(seconds=30),
            **dbt_cosmos.pool_args(settings),
        },
    }


def dbt_models_task_group(tag: str, settings: Settings) -> TaskGroup:
    """Cosmos task group of the models tagged `tag` (and their tests), outside any ingestion window."""
    return dbt_cosmos.dbt_task_group("dbt", dbt_cosmos.select_for(settings, tag), settings)
