"""Whole DAG runs the way `make run DAG=<dag> DATE=<hour>` does them (dag.test on the embedded default: SQLite
metadata, DuckDB warehouse) against a real S3-compatible server: an hour of each ingestion DAG."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pytest

from de_sandbox.embedded.runner import run_dag
from de_sandbox.ingestion import ledger
from de_sandbox.settings import get_settings
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


@pytest.mark.timeout(1200)
def test_wikipedia_pageviews_hour(embedded_airflow, ingestion_env, store):
    # A manual run at 06:00 covers the data interval 05:00-06:00, the hour before it.
    result = run_dag("wikipedia_pageviews", "2026-01-01T06:00", get_settings())
    assert result.state == "success", [(t.task_id, t.state) for t in result.tasks]

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
