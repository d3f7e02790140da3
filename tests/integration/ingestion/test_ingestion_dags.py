"""Whole DAG runs the way `make run DAG=<dag> DATE=<hour>` does them (dag.test on the embedded default: SQLite
metadata, DuckDB warehouse) against a real S3-compatible server: an hour of each ingestion DAG. The wikipedia hour's
run is also the one whose OpenLineage events (Airflow's provider, file transport) are checked."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from de_sandbox.embedded.runner import run_dag
from de_sandbox.ingestion import ledger
from de_sandbox.ingestion.config import load_config
from de_sandbox.ingestion.sources import source_location
from de_sandbox.lineage.events import Node, table_edges
from de_sandbox.settings import get_ingestion_settings, get_settings
from de_sandbox.warehouse import connect

pytestmark = pytest.mark.integration

PHASES = ("extract", "load", "audit", "validate", "archive")


def ingestion_facts(metrics_db: str, pipeline: str) -> list[tuple]:
    with sqlite3.connect(metrics_db) as conn:
        return conn.execute(
            "select rows_source, rows_loaded, rows_quarantined, status from ingestion_runs"
            " where pipeline = ?",
            (pipeline,),
        ).fetchall()


def new_events(directory: Path, before: set[Path]) -> list[dict]:
    paths = sorted(set(directory.glob("*.json")) - before)
    return [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.timeout(1200)
def test_wikipedia_pageviews_hour(embedded_airflow, ingestion_env, store, output_dir):
    settings = get_settings()
    before = set(settings.lineage_dir.glob("*.json"))
    # A manual run at 06:00 covers the data interval 05:00-06:00, the hour before it.
    result = run_dag("wikipedia_pageviews", "2026-01-01T06:00", settings)
    assert result.state == "success", [(t.task_id, t.state) for t in result.tasks]
    for path in sorted(set(settings.lineage_dir.glob("*.json")) - before):
        shutil.copy(path, output_dir)

    window = datetime(2026, 1, 1, 5)
    rows = ledger.rows("wikipedia_pageviews", window)
    assert [(r["phase"], r["status"]) for r in rows] == [(phase, "success") for phase in PHASES]
    audit_row = rows[2]
    assert (audit_row["rows_source"], audit_row["rows_stage"], audit_row["rows_target"]) == (300, 300, 300)
    with connect() as connection:
        views = connection.scalar(
            "select count(*) from marts.fct_wikipedia_pageviews_enriched where pageview_hour = ?", (window,)
        )
    assert views == 300
    assert store.list_keys(store.raw_bucket, "wikipedia_pageviews/") == []
    assert (
        len(store.list_keys(store.archive_bucket, "wikipedia_pageviews/year=2026/month=01/day=01/hour=05/"))
        == 1
    )
    assert ingestion_facts(ingestion_env["METRICS_DB_PATH"], "wikipedia_pageviews") == [
        (300, 300, 0, "success")
    ]
    _assert_lineage(new_events(settings.lineage_dir, before), {t.task_id for t in result.tasks})


def _assert_lineage(events: list[dict], task_ids: set[str]) -> None:
    """START and COMPLETE for every task, and table-level edges from the source file to the mart."""
    types = defaultdict(set)
    for event in events:
        types[event["job"]["name"]].add(event["eventType"])
    assert {f"wikipedia_pageviews.{task_id}" for task_id in task_ids} <= set(types)
    assert all({"START", "COMPLETE"} <= types[f"wikipedia_pageviews.{t}"] for t in task_ids), dict(types)

    settings, ingestion = get_settings(), get_ingestion_settings()
    warehouse = f"duckdb://{settings.duckdb_path}"
    source = Node("file", str(Path(source_location(load_config("wikipedia_pageviews"))).resolve()))
    landing = Node(f"s3://{ingestion.bucket_raw}", "wikipedia_pageviews")
    raw = Node(warehouse, "warehouse.raw.wikipedia_pageviews")
    fact = Node(warehouse, "warehouse.marts.fct_wikipedia_pageviews")
    edges = {(e.source, e.target, e.job) for e in table_edges(events)}
    assert (source, landing, "wikipedia_pageviews.extract") in edges
    assert (landing, raw, "wikipedia_pageviews.load") in edges
    from_raw = {(target, job) for src, target, job in edges if src == raw}
    assert any(job.startswith("wikipedia_pageviews.dbt.") for _, job in from_raw), edges
    staging = {target for target, _ in from_raw}
    assert any((stage, fact) == (src, target) for src, target, _ in edges for stage in staging), edges


@pytest.mark.timeout(1200)
def test_stavanger_parking_hour(embedded_airflow, ingestion_env, store):
    result = run_dag("stavanger_parking", "2026-01-01T15:00", get_settings())
    assert result.state == "success", [(t.task_id, t.state) for t in result.tasks]

    rows = ledger.rows("stavanger_parking", datetime(2026, 1, 1, 14))
    assert [(r["phase"], r["status"]) for r in rows] == [(phase, "success") for phase in PHASES]
    with connect() as connection:
        assert connection.scalar("select count(*) from marts.fct_parking_occupancy_hourly") == 8
    assert len(store.list_keys(store.archive_bucket, "stavanger_parking/")) == 4


@pytest.mark.timeout(600)
def test_an_hour_outside_the_bundled_samples_skips_the_run(embedded_airflow, ingestion_env, store):
    # What every scheduled hour is on the offline default: skipped with its reason, not a failed run.
    result = run_dag("stavanger_parking", "2026-03-01T10:00", get_settings())
    states = {t.task_id: t.state for t in result.tasks}
    assert result.state == "success", states
    assert states["check_stale"] == "success"
    assert {states[task] for task in PHASES} == {"skipped"}
    (row,) = ledger.rows("stavanger_parking", datetime(2026, 3, 1, 9))
    assert (row["phase"], row["status"]) == ("extract", "skipped")
    assert "STAVANGER_PARKING_URL" in row["error"]
