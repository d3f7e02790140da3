"""Which Cosmos mode each runtime renders: WATCHER on the platforms by default (only its producer in the DuckDB
pool), LOCAL with a task per model and per model's tests when chosen, LOCAL with a build per model under
dag.test(), which has no triggerer for WATCHER's deferring consumers, or WATCHER there on request with its node
tasks behind the producer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE_DAG = Path(__file__).resolve().parents[2] / "dags" / "example_pipeline.py"
FLOCK_HOLDER = Path(__file__).resolve().parents[1] / "helpers" / "flock_holder.py"


def _example_dag(monkeypatch, runtime: str, mode: str | None = None, dag_id: str = "example_pipeline"):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("DE_SANDBOX_RUNTIME", runtime)
    if mode:
        monkeypatch.setenv("COSMOS_EXECUTION_MODE", mode)
    else:
        monkeypatch.delenv("COSMOS_EXECUTION_MODE", raising=False)
    monkeypatch.delenv("COSMOS_TEST_BEHAVIOR", raising=False)
    bag = DagBag(dag_folder=str(EXAMPLE_DAG.with_name(f"{dag_id}.py")))
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


def test_the_platforms_default_to_watcher(embedded_airflow, monkeypatch):
    dag = _example_dag(monkeypatch, "native")
    assert "dbt.dbt_producer_watcher" in dag.task_dict


def test_local_on_request_runs_a_task_per_model_and_per_models_tests(embedded_airflow, monkeypatch):
    dag = _example_dag(monkeypatch, "native", "local")
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


def test_watcher_model_tasks_emit_their_tables_asset_and_lineage_as_local_tasks_do(
    embedded_airflow, monkeypatch
):
    """The asset wikipedia_pageviews_daily is scheduled on comes from the fact's consumer, once, with its
    OpenLineage output and inputs; test tasks and the producer emit no model asset."""
    from cosmos.operators._watcher.base import BaseConsumerSensor

    from de_sandbox.lineage.datasets import warehouse_table
    from de_sandbox.orchestration.assets import table_asset

    settings = embedded_airflow
    dag = _example_dag(monkeypatch, "native", "watcher", dag_id="wikipedia_pageviews")
    fact = dag.task_dict["dbt.fct_wikipedia_pageviews.run"]
    assert isinstance(fact, BaseConsumerSensor)
    assert fact.outlets == [table_asset(settings, "marts.fct_wikipedia_pageviews")]
    # Cosmos's runtime alias path is off, else a run where it works would emit the asset twice.
    assert not fact.emit_datasets and not dag.task_dict["dbt.dbt_producer_watcher"].emit_datasets
    lineage = fact.get_openlineage_facets_on_complete(None)
    written = warehouse_table(settings, "marts.fct_wikipedia_pageviews")
    assert [(d.namespace, d.name) for d in lineage.outputs] == [(written.namespace, written.name)]
    assert any(".staging.stg_" in d.name for d in lineage.inputs), lineage.inputs
    staging = next(t for t in dag.tasks if t.task_id.startswith("dbt.stg_") and t.task_id.endswith(".run"))
    raw = warehouse_table(settings, "raw.wikipedia_pageviews")
    assert (raw.namespace, raw.name) in {
        (d.namespace, d.name) for d in staging.get_openlineage_facets_on_complete(None).inputs
    }
    tests = [t for t in dag.tasks if isinstance(t, BaseConsumerSensor) and t.is_test_sensor]
    assert tests and not any(t.outlets for t in tests)


def test_watcher_consumers_that_fall_back_on_duckdb_write_one_at_a_time(embedded_airflow, monkeypatch):
    """A consumer whose producer died runs its node with its own dbt, outside the pool: on DuckDB it does so only
    while it holds the file's writer lock, which another process then cannot take. Cosmos's fallback itself (a
    dbt run of the node) is replaced by a probe of the lock: what is under test is who holds it during the run."""
    from cosmos.operators._watcher.base import BaseConsumerSensor

    from de_sandbox.warehouse import duckdb_writer_lock_path

    lock = duckdb_writer_lock_path(embedded_airflow)
    during: list[tuple[str, int, bool]] = []

    def fallback(self, try_number, context):
        taken = subprocess.run([sys.executable, str(FLOCK_HOLDER), "--try", str(lock)]).returncode == 0
        during.append((self.task_id, try_number, taken))
        return True

    dag = _example_dag(monkeypatch, "native", "watcher")
    consumers = [t for t in dag.tasks if isinstance(t, BaseConsumerSensor)]
    for kind in {type(t) for t in consumers}:
        monkeypatch.setattr(kind, "_fallback_to_non_watcher_run", fallback)
    model, test = dag.task_dict["dbt.stg_shop__customers.run"], dag.task_dict["dbt.stg_shop__customers.test"]
    assert model._fallback_to_non_watcher_run(2, {}) and test._fallback_to_non_watcher_run(1, {})
    assert during == [(model.task_id, 2, False), (test.task_id, 1, False)], "another process wrote meanwhile"
    # Afterwards the lock is free again.
    assert subprocess.run([sys.executable, str(FLOCK_HOLDER), "--try", str(lock)]).returncode == 0


@pytest.mark.parametrize("requested", ["watcher", "local"])
def test_dag_test_runs_local_with_one_build_per_model_whatever_the_platform_mode(
    embedded_airflow, monkeypatch, requested
):
    monkeypatch.setenv("COSMOS_EXECUTION_MODE", requested)
    monkeypatch.delenv("COSMOS_EMBEDDED_EXECUTION_MODE", raising=False)
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("DE_SANDBOX_RUNTIME", "embedded")
    dag = DagBag(dag_folder=str(EXAMPLE_DAG)).dags["example_pipeline"]
    assert "dbt.dbt_producer_watcher" not in dag.task_dict
    builds = {t.task_id for t in dag.tasks if type(t).__name__ == "DbtBuildLocalOperator"}
    assert "dbt.stg_shop__customers_model_build" in builds and "dbt.raw_customers_seed_build" in builds
    assert all(dag.task_dict[t].pool == "duckdb" for t in builds)


def test_watcher_under_dag_test_puts_the_first_node_tasks_behind_the_producers_gate(
    embedded_airflow, monkeypatch
):
    from cosmos.operators._watcher.base import BaseConsumerSensor

    monkeypatch.setenv("COSMOS_EMBEDDED_EXECUTION_MODE", "watcher")
    dag = _example_dag(monkeypatch, "embedded", "local")  # the platform's mode does not matter here
    gate = dag.task_dict["dbt.dbt_producer_watcher_done"]
    assert gate.upstream_task_ids == {"dbt.dbt_producer_watcher"} and gate.trigger_rule == "all_done"
    consumers = {t.task_id: t for t in dag.tasks if isinstance(t, BaseConsumerSensor)}
    first = {t for t, task in consumers.items() if not task.upstream_task_ids & set(consumers)}
    assert "dbt.raw_customers_seed" in first and "dbt.stg_shop__customers.run" not in first
    assert first == {t for t in consumers if gate.task_id in consumers[t].upstream_task_ids}
    # Model tasks keep their own tests as separate tasks (a watcher has no `build` per model).
    assert {"dbt.stg_shop__customers.run", "dbt.stg_shop__customers.test"} <= set(consumers)


def test_watcher_reports_tests_of_several_models_with_each_parents_tests(embedded_airflow, monkeypatch):
    """Under WATCHER a relationships test has no task of its own (it would find no status in the producer's XCom
    and run its own `dbt test`); the producer reports it with each parent's tests. LOCAL keeps its own task."""
    watcher = _example_dag(monkeypatch, "native", "watcher")
    assert not [t for t in watcher.task_dict if "relationships_" in t]
    producer = watcher.task_dict["dbt.dbt_producer_watcher"]
    attached = {
        model for model, tests in producer.tests_per_model.items() for t in tests if "relationships_" in t
    }
    assert {"model.de_sandbox.stg_shop__orders", "model.de_sandbox.stg_shop__customers"} <= attached
    local = _example_dag(monkeypatch, "native", "local")
    assert [t for t in local.task_dict if "relationships_" in t]


def test_watchers_producer_pushes_each_nodes_finished_event_and_errors_only(embedded_airflow):
    """Cosmos pushes four lifecycle events per node, one XCom call each under a lock inside dbt's threads; its
    consumers log only the last one. A Cosmos upgrade that renames what we narrow fails here, not silently."""
    from cosmos.operators._watcher import base as watcher_base

    from de_sandbox.orchestration import cosmos

    assert cosmos.NODE_EVENTS_PUSHED <= watcher_base._DBT_NODE_STATUS_EVENT_TYPES
    assert watcher_base._DBT_EVENT_ALLOWLIST == watcher_base._DBT_ERROR_EVENTS_TYPES | {"NodeFinished"}
    assert {"RunResultError", "NodeFinished"} <= watcher_base._DBT_EVENT_ALLOWLIST


def test_a_groups_cosmos_cache_starts_with_our_partial_parse_file_and_keeps_a_newer_one(
    embedded_airflow, monkeypatch
):
    """The first dbt task of a fresh platform parses partially from `de-sandbox dbt-parse`'s file (same profile),
    instead of in full; a newer file Cosmos left after a task stays."""
    from de_sandbox.dbt.project import manifest_path

    ours = manifest_path(embedded_airflow).parent / "partial_parse.msgpack"
    assert ours.exists(), "dbt parse writes it beside the manifest"
    producer = _example_dag(monkeypatch, "native", "watcher").task_dict["dbt.dbt_producer_watcher"]
    cached = Path(producer.cache_dir) / "target" / "partial_parse.msgpack"
    assert cached.read_bytes() == ours.read_bytes()
    assert (cached.parent / "manifest.json").read_bytes() == manifest_path(embedded_airflow).read_bytes()
    cached.write_bytes(b"left by a task")
    _example_dag(monkeypatch, "native", "watcher")
    assert cached.read_bytes() == b"left by a task"
