"""dbt 1.11's real run_results.json and manifest.json become model and test facts."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from de_sandbox.metrics import facts

pytestmark = pytest.mark.integration


def test_dbt_build_results_are_recorded(dbt_probe_target, tmp_path) -> None:
    db = tmp_path / "facts.sqlite"
    assert facts.record_dbt_results(dbt_probe_target / "run_results.json", "probe_dag", "run1", db=db) == 4
    rows = {row["name"]: dict(row) for row in facts.read_facts(db)["dbt"]}
    assert rows["probe_orders"]["resource_type"] == "seed"
    assert rows["probe_orders"]["rows_affected"] == 3
    assert rows["probe_orders_clean"]["status"] == "success"
    assert rows["probe_orders_clean"]["execution_time"] > 0
    warn = rows["accepted_values_probe_orders_clean_status__shipped"]
    assert (warn["status"], warn["failures"], warn["model"]) == ("warn", 1, "probe_orders_clean")
    passed = rows["not_null_probe_orders_clean_order_id"]
    assert (passed["status"], passed["failures"]) == ("pass", 0)


def test_cosmos_callback_records_the_project_dir_it_is_handed(
    dbt_probe_target, tmp_path, monkeypatch
) -> None:
    db = tmp_path / "facts.sqlite"
    monkeypatch.setenv("METRICS_DB_PATH", str(db))
    # Cosmos calls callback(tmp_project_dir, context=...) after a successful dbt command
    ti = SimpleNamespace(dag_id="example_pipeline", run_id="manual__1")
    facts.cosmos_callback(str(dbt_probe_target.parent), context={"ti": ti})
    rows = facts.read_facts(db)["dbt"]
    assert len(rows) == 4
    assert {(r["dag_id"], r["run_id"]) for r in rows} == {("example_pipeline", "manual__1")}
