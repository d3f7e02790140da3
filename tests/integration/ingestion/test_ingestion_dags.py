"""Whole DAG runs with `airflow dags test` on the embedded default (SQLite metadata, DuckDB warehouse) against
a real S3-compatible server: one hour of wikipedia_pageviews and one of stavanger_parking."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from de_sandbox import ledger
from de_sandbox.ingestion.warehouse import connect
from de_sandbox.settings import REPO_ROOT

pytestmark = pytest.mark.integration

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    return home


def dags_test(
    airflow_home: Path, tmp_path: Path, dag_id: str, logical_date: str
) -> subprocess.CompletedProcess:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / f"{dag_id}.py").symlink_to(REPO_ROOT / "dags" / f"{dag_id}.py")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        # dbt ls renders the Cosmos group at parse time; a loaded 2-core machine needs more than 30 s for it.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "600",
        "AIRFLOW__COSMOS__CACHE_DIR": str(tmp_path / "cosmos"),
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    }
    result = subprocess.run(
        [AIRFLOW, "dags", "test", dag_id, logical_date], env=env, capture_output=True, text=True
    )
    log = REPO_ROOT / "test-output" / "ingestion" / f"dags-test-{dag_id}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + result.stderr)
    return result


@pytest.mark.timeout(1200)
def test_wikipedia_pageviews_hour(ingestion_env, airflow_home, tmp_path, store):
    # A manual run at 06:00 covers the data interval 05:00-06:00.
    result = dags_test(airflow_home, tmp_path, "wikipedia_pageviews", "2026-01-01T06:00:00+00:00")
    assert result.returncode == 0 and "state=success" in result.stdout + result.stderr, result.stderr[-3000:]

    window = datetime(2026, 1, 1, 5)
    rows = ledger.rows("wikipedia_pageviews", window)
    assert [(r["phase"], r["status"]) for r in rows] == [
        (phase, "success") for phase in ("extract", "load", "audit", "validate", "archive")
    ]
    audit_row = rows[2]
    assert (audit_row["rows_source"], audit_row["rows_stage"], audit_row["rows_target"]) == (300, 300, 300)
    with connect() as connection:
        assert connection.scalar(
            "select count(*) from marts.wikipedia_pageviews where pageview_hour = ?", (window,)
        )
    assert store.list_keys(store.raw_bucket, "wikipedia_pageviews/") == []
    assert (
        len(store.list_keys(store.archive_bucket, "wikipedia_pageviews/year=2026/month=01/day=01/hour=05/"))
        == 1
    )


@pytest.mark.timeout(1200)
def test_stavanger_parking_hour(ingestion_env, airflow_home, tmp_path, store):
    result = dags_test(airflow_home, tmp_path, "stavanger_parking", "2026-01-01T15:00:00+00:00")
    assert result.returncode == 0 and "state=success" in result.stdout + result.stderr, result.stderr[-3000:]

    rows = ledger.rows("stavanger_parking", datetime(2026, 1, 1, 14))
    assert [(r["phase"], r["status"]) for r in rows] == [
        (phase, "success") for phase in ("extract", "load", "audit", "validate", "archive")
    ]
    with connect() as connection:
        assert connection.scalar("select count(*) from marts.fct_stavanger_parking__occupancy_hourly") == 8
    assert len(store.list_keys(store.archive_bucket, "stavanger_parking/")) == 4
