"""The native platform on Celery (AIRFLOW_EXECUTOR=CeleryExecutor): Redis and two workers beside the rest, the
DuckDB one-writer pool holding across workers, and a worker killed mid-task without losing the run."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest
from helpers.task_processes import ancestors, wait_for_running_task

from de_sandbox.airflow_api import AirflowApi
from de_sandbox.airflow_db import DUCKDB_POOL
from de_sandbox.native.platform import Platform, down, status, up
from de_sandbox.native.postgres import reachable_tmp_dir
from de_sandbox.native.supervisor import Supervisor

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

EXAMPLE_DAG = "example_pipeline"
KILLED_TASK = "validate_data_quality"
START_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def celery_platform(record_timing):
    data_dir = reachable_tmp_dir("de-sandbox-celery-")
    platform = Platform.throwaway(data_dir, warehouse="duckdb", executor="CeleryExecutor")
    try:
        record_timing("celery_start_to_healthy_cold", up(platform, timeout=START_TIMEOUT_S))
        yield platform
    finally:
        down(platform)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def celery_api(celery_platform) -> AirflowApi:
    api = AirflowApi(celery_platform.api_url, celery_platform.admin_user, celery_platform.admin_password)
    api.login()
    return api


def test_redis_and_two_workers_run_beside_the_rest(celery_platform):
    states = status(celery_platform)
    assert {"redis", "celery-worker-1", "celery-worker-2", "scheduler"} <= states.keys()
    assert all(states.values()), states
    config = celery_platform.settings.data_dir / "redis" / "redis.conf"
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    assert celery_platform.redis_password not in " ".join(
        Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        for pid in Supervisor(celery_platform.settings.data_dir).running("redis").group_members()
    ), "the broker password is never on a command line"


def test_a_killed_worker_loses_no_run_and_duckdb_keeps_one_writer(celery_platform, celery_api, record_timing):
    """A worker dies with its task (the GX validation), as a machine would (kill -9 of its whole process tree,
    no restart): the task is failed by its missing heartbeat, retried on the other worker, and the run succeeds.
    Across the run no two tasks of the DuckDB pool ever ran at the same time."""
    supervisor = Supervisor(celery_platform.settings.data_dir)
    celery_api.wait_for_dag(EXAMPLE_DAG, timeout=120)
    run_id = celery_api.trigger(EXAMPLE_DAG)
    # The GX task, always: killing whatever ran first was sometimes a WATCHER producer, whose retry is skipped
    # (each consumer then runs its own dbt) and the run took 376-743 s instead of ~2 min.
    task_pid, task_id = wait_for_running_task(celery_api, EXAMPLE_DAG, run_id, 900, task_id=KILLED_TASK)
    keepers = {supervisor.running(f"celery-worker-{n}").pid: n for n in (1, 2)}
    worker = next(keepers[pid] for pid in ancestors(task_pid) if pid in keepers)
    # The worker's group (keeper, worker, pool) and the task's own session die at once.
    os.killpg(supervisor.running(f"celery-worker-{worker}").pid, signal.SIGKILL)
    os.killpg(os.getpgid(task_pid), signal.SIGKILL)
    killed_at = time.monotonic()
    retry = wait_for_running_task(celery_api, EXAMPLE_DAG, run_id, 300, task_id=task_id, not_pid=task_pid)
    retried_on = next((keepers[pid] for pid in ancestors(retry[0]) if pid in keepers), None)
    record_timing("celery_worker_kill_to_retry", time.monotonic() - killed_at)
    assert retried_on == 3 - worker, "the retry runs on the surviving worker"

    state = celery_api.wait_for_run(EXAMPLE_DAG, run_id, timeout=1200)
    record_timing("celery_worker_kill_run_to_success", time.monotonic() - killed_at)
    assert state == "success", celery_api.task_states(EXAMPLE_DAG, run_id)
    ti = celery_api.get_json(f"dags/{EXAMPLE_DAG}/dagRuns/{run_id}/taskInstances/{task_id}")
    assert ti["try_number"] == 2, ti

    spans = sorted(
        (t["start_date"], t["end_date"], t["task_id"])
        for t in celery_api.get_json(f"dags/{EXAMPLE_DAG}/dagRuns/{run_id}/taskInstances", limit=1000)[
            "task_instances"
        ]
        if t["pool"] == DUCKDB_POOL and t["start_date"]
    )
    # Every task of the pool ran (LOCAL: each dbt task; WATCHER: its producer), GX and the docs among them.
    pool_tasks = {
        t["task_id"]
        for t in celery_api.get_json(f"dags/{EXAMPLE_DAG}/tasks")["tasks"]
        if t["pool"] == DUCKDB_POOL
    }
    assert {task for _, _, task in spans} == pool_tasks and len(pool_tasks) >= 3, (spans, pool_tasks)
    for (_, end, first), (start, _, second) in zip(spans, spans[1:], strict=False):
        assert end <= start, f"{first} and {second} wrote DuckDB at the same time"
