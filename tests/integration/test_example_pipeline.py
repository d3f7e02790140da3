"""The example DAG end to end with dag.test() on DuckDB: seeds, models, tests, GX validation and docs; and the same
DAG file running a bring-your-own dbt project unmodified."""

from __future__ import annotations

import csv
import shutil
import subprocess

import pytest

from de_sandbox.dbt.artifacts import node_outcomes
from de_sandbox.embedded.report import format_summary, quality_reports, warehouse_tables
from de_sandbox.embedded.runner import run_dag
from de_sandbox.settings import REPO_ROOT, get_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

BYO_PROJECT = REPO_ROOT / "tests" / "fixtures" / "byo_dbt_project"


def _log_tail(result) -> str:
    return "".join(result.log_file.read_text(errors="replace").splitlines(keepends=True)[-60:])


def _git_status(path) -> str:
    """Changed, new and ignored files under `path`: anything a run wrote there shows up."""
    command = ["git", "status", "--porcelain", "--ignored", str(path)]
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, check=True).stdout


def _csv_rows(path) -> int:
    with path.open(newline="") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def test_example_pipeline_builds_tests_and_validates_the_shop(embedded_airflow):
    result = run_dag("example_pipeline")
    settings = get_settings()
    assert result.state == "success", _log_tail(result)

    outcomes = node_outcomes(settings, "example_pipeline", result.run_id)
    failed = {k: n for k, n in outcomes.items() if k[1] not in ("success", "pass")}
    assert not failed, f"dbt nodes did not pass: {failed}"
    assert outcomes[("seed", "success")] == 3
    assert outcomes[("model", "success")] >= 6
    assert outcomes[("test", "pass")] >= 10
    assert outcomes[("unit_test", "pass")] >= 1

    rows = {f"{schema}.{table}": n for schema, table, n in warehouse_tables(settings)}
    seeds = REPO_ROOT / "seeds"
    assert rows["raw.raw_customers"] == _csv_rows(seeds / "raw_customers.csv")
    assert rows["raw.raw_orders"] == _csv_rows(seeds / "raw_orders.csv")
    assert rows["marts.dim_customers"] == rows["raw.raw_customers"]
    assert rows["marts.fct_orders"] == rows["raw.raw_orders"]

    reports = quality_reports(result)
    assert reports, f"no GX report in XCom: {sorted(result.xcoms)}"
    assert reports[0]["success"] is True
    tables = {r["table"].split(".")[-1] for r in reports[0]["validation_results"]}
    assert tables >= {"raw_customers", "dim_customers", "fct_orders"}, tables
    assert all(r["statistics"]["unsuccessful_expectations"] == 0 for r in reports[0]["validation_results"])

    summary = format_summary(result, settings)
    assert "SUCCESS" in summary and "marts.dim_customers" in summary
    assert "(not generated)" not in summary, summary


def test_bring_your_own_project_runs_through_the_same_dag(embedded_airflow, tmp_path, monkeypatch):
    before = _git_status(BYO_PROJECT)
    monkeypatch.setenv("DBT_PROJECT_DIR", str(BYO_PROJECT))
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "byo.duckdb"))
    result = run_dag("example_pipeline")
    assert result.state == "success", _log_tail(result)

    settings = get_settings()
    tables = {f"{schema}.{table}" for schema, table, _ in warehouse_tables(settings)}
    byo_seeds = {p.stem for p in (BYO_PROJECT / "raw_data").glob("*.csv")}
    assert byo_seeds and all(any(t.endswith(f".{seed}") for t in tables) for seed in byo_seeds), tables
    assert not any("dim_customers" in t for t in tables), "the shop project leaked into the BYO run"

    reports = quality_reports(result)
    assert reports and reports[0]["validation_results"] == []
    assert "no expectation suites apply to dbt project 'byo_bikes'" in reports[0]["message"]

    assert _git_status(BYO_PROJECT) == before, "running the project wrote into it"
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_failing_dbt_test_fails_its_task_and_reaches_the_metrics(embedded_airflow, tmp_path, monkeypatch):
    from de_sandbox.metrics import facts

    project = shutil.copytree(BYO_PROJECT, tmp_path / "byo_failing")
    # The singular test now returns every station: 6 failing rows.
    (project / "checks" / "assert_every_rental_is_counted.sql").write_text(
        "select * from {{ ref('station_usage') }}\n"
    )
    metrics_db = tmp_path / "facts.sqlite"
    monkeypatch.setenv("DBT_PROJECT_DIR", str(project))
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "byo.duckdb"))
    monkeypatch.setenv("METRICS_DB_PATH", str(metrics_db))
    result = run_dag("example_pipeline")

    states = {t.task_id: t.state for t in result.tasks}
    assert result.state == "failed"
    # dag.test() builds each model with its tests in one task: the failing test fails the model's task.
    assert states["dbt.station_usage_model_build"] == "failed", states
    assert states["validate_data_quality"] == "upstream_failed"
    assert "tests 1 fail" in format_summary(result, get_settings())
    failed = [r for r in facts.read_facts(metrics_db)["dbt"] if r["status"] == "fail"]
    assert failed and {(r["name"], r["failures"]) for r in failed} == {("assert_every_rental_is_counted", 6)}


def test_watcher_under_dag_test_fails_the_broken_models_own_task(embedded_airflow, tmp_path, monkeypatch):
    project = shutil.copytree(BYO_PROJECT, tmp_path / "byo_broken")
    (project / "transform" / "staging" / "stg_rentals.sql").write_text("select no_such_column from nowhere\n")
    monkeypatch.setenv("DBT_PROJECT_DIR", str(project))
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "byo.duckdb"))
    monkeypatch.setenv("COSMOS_EMBEDDED_EXECUTION_MODE", "watcher")
    result = run_dag("example_pipeline")

    states = {t.task_id: t.state for t in result.tasks}
    assert result.state == "failed"
    assert states["dbt.stg_rentals.run"] == "failed", states
    assert states["dbt.stg_stations.run"] == "success", states
    assert states["dbt.station_usage.run"] == "upstream_failed", states
    assert states["validate_data_quality"] == "upstream_failed", states
