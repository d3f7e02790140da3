"""Which Cosmos mode each runtime renders: LOCAL with a task per model and per model's tests on the platforms by
default, WATCHER when chosen (only its producer in the DuckDB pool), LOCAL with a build per model under dag.test(),
which has no triggerer for WATCHER's deferring consumers."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLE_DAG = Path(__file__).resolve().parents[2] / "dags" / "example_pipeline.py"


def _example_dag(monkeypatch, runtime: str, mode: str | None = None):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("DE_SANDBOX_RUNTIME", runtime)
    if mode:
        monkeypatch.setenv("COSMOS_EXECUTION_MODE", mode)
    else:
        monkeypatch.delenv("COSMOS_EXECUTION_MODE", raising=False)
    monkeypatch.delenv("COSMOS_TEST_BEHAVIOR", raising=False)
    bag = DagBag(dag_folder=str(EXAMPLE_DAG))
    assert not bag.import_errors, bag.import_errors
    return bag.dags["example_pipeline"]


def test_the_platforms_default_to_a_task_per_model_and_per_models_tests(embedded_airflow, monkeypatch):
    dag = _example_dag(monkeypatch, "native")
    assert "dbt.dbt_producer_watcher" not in dag.task_dict
    assert {"dbt.stg_shop__customers.run", "dbt.stg_shop__customers.test"} <= set(dag.task_dict)
    assert dag.task_dict["dbt.stg_shop__customers.run"].pool == "duckdb"


def test_watcher_runs_one_watched_dbt_build_and_only_it_writes_duckdb(embedded_airflow, monkeypatch):
    from cosmos.operators._watcher.base import BaseConsumerSensor

    dag = _example_dag(monkeypatch, "native", "watcher")
    producer = dag.task_dict["dbt.dbt_producer_watcher"]
    assert producer.pool == "duckdb"
    consumers = [t for t in dag.tasks if isinstance(t, BaseConsumerSensor)]
    assert {"dbt.stg_shop__customers.run", "dbt.stg_shop__customers.test"} <= {t.task_id for t in consumers}
    assert all(t.pool == "default_pool" and t.deferrable and t.poke_interval <= 2 for t in consumers)
    # What still writes DuckDB after the build stays in the pool.
    assert dag.task_dict["validate_data_quality"].pool == "duckdb"


@pytest.mark.parametrize("requested", ["watcher", "local"])
def test_dag_test_runs_local_with_one_build_per_model_whatever_the_platform_mode(
    embedded_airflow, monkeypatch, requested
):
    monkeypatch.setenv("COSMOS_EXECUTION_MODE", requested)
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("DE_SANDBOX_RUNTIME", "embedded")
    dag = DagBag(dag_folder=str(EXAMPLE_DAG)).dags["example_pipeline"]
    assert "dbt.dbt_producer_watcher" not in dag.task_dict
    builds = {t.task_id for t in dag.tasks if type(t).__name__ == "DbtBuildLocalOperator"}
    assert "dbt.stg_shop__customers_model_build" in builds and "dbt.raw_customers_seed_build" in builds
    assert all(dag.task_dict[t].pool == "duckdb" for t in builds)
