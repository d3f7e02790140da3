"""Faults on the running native platform (PostgreSQL warehouse), each ending with the window loaded exactly once
and the run ledger telling what happened: the warehouse restarted mid-load, the object store down mid-extract."""

from __future__ import annotations

import gzip
import time
from contextlib import closing
from datetime import UTC, datetime

import pytest

from de_sandbox.ingestion import pageviews
from de_sandbox.ingestion.config import load_config
from de_sandbox.native.supervisor import Supervisor
from de_sandbox.settings import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

DAG_ID = "wikipedia_pageviews"


def _ledger(platform, window: datetime) -> list[tuple]:
    with closing(platform.postgres.connect(platform.settings.warehouse_db)) as conn, conn.cursor() as cur:
        cur.execute(
            "select phase, attempt, status, rows_source, rows_stage, rows_quarantined, error from ops.run_ledger"
            " where pipeline = %s and window_start = %s order by started_at, attempt",
            (DAG_ID, window.replace(tzinfo=None)),
        )
        return cur.fetchall()


def _raw_rows(platform, window: datetime) -> int:
    with closing(platform.postgres.connect(platform.settings.warehouse_db)) as conn, conn.cursor() as cur:
        cur.execute(
            "select count(*) from raw.wikipedia_pageviews where window_start = %s",
            (window.replace(tzinfo=None),),
        )
        return cur.fetchone()[0]


def _sample_lines(window: datetime) -> int:
    body = (REPO_ROOT / "seeds" / "wikipedia_pageviews" / pageviews.relative_path(window)).read_bytes()
    return len(gzip.decompress(body).splitlines())


def _wait_task_running(api, run_id: str, task_id: str, timeout: float = 600) -> None:
    api._poll(
        lambda: api.task_states(DAG_ID, run_id).get(task_id) == "running", timeout, f"{task_id} not running"
    )


def _assert_loaded_once(platform, window: datetime) -> list[tuple]:
    ledger = _ledger(platform, window)
    loads = [row for row in ledger if row[0] == "load" and row[2] == "success"]
    assert len(loads) == 1, ledger
    _, _, _, source, stage, quarantined, _ = loads[0]
    assert source == _sample_lines(window) == stage + quarantined
    assert _raw_rows(platform, window) == stage
    assert [row[2] for row in ledger if row[0] == "audit"][-1] == "success"
    return ledger


def test_warehouse_restarted_during_load_rolls_back_and_the_retry_loads_once(
    native_platform, airflow_api, record_timing
):
    """The load is held on a table lock, then PostgreSQL restarts under it: the load's transaction is gone,
    the task fails and its next try loads the window once. The next try is started by a clear, as an operator
    would, instead of after the pipeline's 60 s retry delay."""
    window = datetime(2026, 1, 1, 9, tzinfo=UTC)
    airflow_api.wait_for_dag(DAG_ID, timeout=60)
    postgres = native_platform.postgres
    blocker = postgres.connect(native_platform.settings.warehouse_db)
    blocker.autocommit = False
    with blocker.cursor() as cur:
        cur.execute("create schema if not exists raw")
        cur.execute(load_config("wikipedia_pageviews").raw_ddl)
        cur.execute("lock table raw.wikipedia_pageviews in access exclusive mode")
    run_id = airflow_api.trigger(DAG_ID, logical_date="2026-01-01T10:00:00Z")
    _wait_task_running(airflow_api, run_id, "load")
    time.sleep(3)  # the load is now waiting on the lock, inside its transaction
    restarted_at = time.monotonic()
    postgres.stop()
    postgres.start()
    blocker.close()
    airflow_api._poll(
        lambda: airflow_api.task_states(DAG_ID, run_id).get("load") == "up_for_retry", 300, "load not failed"
    )
    assert airflow_api.clear_tasks(DAG_ID, run_id, ["load"]) == {"load"}
    state = airflow_api.wait_for_run(DAG_ID, run_id, timeout=600)
    record_timing("warehouse_restart_to_success", time.monotonic() - restarted_at)
    assert state == "success", airflow_api.task_states(DAG_ID, run_id)
    ledger = _assert_loaded_once(native_platform, window)
    loads = [(attempt, status) for phase, attempt, status, *_ in ledger if phase == "load"]
    assert loads[-1][1] == "success" and len(loads) == 2, loads
    assert loads[0][1] in ("failed", "stale"), loads


def test_object_store_down_30_s_during_extract_is_waited_for(native_platform, airflow_api, record_timing):
    """The S3 stand-in is stopped before the run and started 30 s later: extract's client retries with backoff
    and succeeds in its first try; the window loads once."""
    window = datetime(2026, 1, 1, 12, tzinfo=UTC)
    supervisor = Supervisor(native_platform.settings.data_dir)
    (store,) = [spec for spec in native_platform.services() if spec.name == "object-store"]
    airflow_api.wait_for_dag(DAG_ID, timeout=60)
    supervisor.stop([store.name])
    stopped_at = time.monotonic()
    run_id = airflow_api.trigger(DAG_ID, logical_date="2026-01-01T13:00:00Z")
    _wait_task_running(airflow_api, run_id, "extract")
    time.sleep(max(0.0, 30 - (time.monotonic() - stopped_at)))
    assert supervisor.start(store, native_platform.env())
    supervisor.wait_healthy([store], timeout=60)
    state = airflow_api.wait_for_run(DAG_ID, run_id, timeout=600)
    record_timing("object_store_outage_run_to_success", time.monotonic() - stopped_at)
    assert state == "success", airflow_api.task_states(DAG_ID, run_id)
    extract = airflow_api.get_json(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/extract")
    assert extract["try_number"] == 1, "the client's own retries carried extract through the outage"
    _assert_loaded_once(native_platform, window)
