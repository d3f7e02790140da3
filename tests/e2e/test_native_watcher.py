"""WATCHER on the native platform: a broken model fails its own task, and after the fix clearing that task alone
rebuilds it, without re-running the producer's `dbt build` or any other node; each built node emits its asset once.
A failing dbt test fails its model's test task, and after the fix clearing that task alone runs the tests."""

from __future__ import annotations

import dataclasses
import shutil
import time

import pytest

from de_sandbox.airflow_api import AirflowApi
from de_sandbox.native.platform import Platform, down, up
from de_sandbox.native.postgres import reachable_tmp_dir
from de_sandbox.settings import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

DAG_ID = "example_pipeline"
START_TIMEOUT_S = 300
BYO_PROJECT = REPO_ROOT / "tests" / "fixtures" / "byo_dbt_project"
BROKEN_MODEL = "stg_stations"
BROKEN_TASK = f"dbt.{BROKEN_MODEL}.run"
BROKEN_SQL = (
    "select station_id, station_name, district from {{ ref('stations') }} join no_such_table using (x)\n"
)
# Keeps the producer's `dbt build` running well past the automatic retry (10 s) of stg_rentals' tests: the
# `relationships` test to the broken stg_stations is skipped, so the producer reports those tests as failed.
SLOW_MODEL = "slow_rentals"
SLOW_MODEL_PY = """import time


def model(dbt, session):
    rentals = dbt.ref("stg_rentals")
    time.sleep(25)
    return rentals
"""
FAILING_TEST_TASK = "dbt.daily_rentals.test"
FAILING_TEST = """      - name: rentals
        data_tests:
          - accepted_values:
              arguments:
                values: [-1]
"""


@pytest.fixture(scope="module")
def watcher_platform(tmp_path_factory, monkeypatch_module):
    """A DuckDB platform in WATCHER mode running a copy of the BYO project whose `stg_stations` is broken."""
    project = shutil.copytree(BYO_PROJECT, tmp_path_factory.mktemp("watcher") / "byo_bikes")
    model = project / "transform" / "staging" / f"{BROKEN_MODEL}.sql"
    good_sql = model.read_text()
    model.write_text(BROKEN_SQL)
    schema = project / "transform" / "schema.yml"
    good_schema = schema.read_text()
    assert good_schema.rstrip().endswith("data_tests: [unique, not_null]"), "daily_rentals comes last"
    schema.write_text(good_schema + FAILING_TEST)
    (project / "transform" / "reporting" / f"{SLOW_MODEL}.py").write_text(SLOW_MODEL_PY)
    monkeypatch_module.setenv("DBT_PROJECT_DIR", str(project))
    monkeypatch_module.setenv("COSMOS_EXECUTION_MODE", "watcher")
    data_dir = reachable_tmp_dir("de-sandbox-watcher-")
    platform = Platform.throwaway(data_dir, warehouse="duckdb")
    try:
        up(platform, timeout=START_TIMEOUT_S)
        api = AirflowApi(platform.api_url, platform.admin_user, platform.admin_password)
        api.login()
        api.wait_for_dag(DAG_ID, timeout=180)
        yield dataclasses.make_dataclass(
            "WatcherPlatform", ["api", "model", "good_sql", "schema", "good_schema"]
        )(api, model, good_sql, schema, good_schema)
    finally:
        down(platform)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def _task_instances(api: AirflowApi, run_id: str) -> dict[str, dict]:
    tis = api.get_json(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances", limit=1000)["task_instances"]
    return {ti["task_id"]: ti for ti in tis}


def _asset_events(api: AirflowApi, run_id: str) -> dict[str, list[str]]:
    """The last path segment (table) of every asset event of the run, by the task that emitted it."""
    events = api.get_json("assets/events", source_dag_id=DAG_ID, source_run_id=run_id, limit=100)[
        "asset_events"
    ]
    emitted: dict[str, list[str]] = {}
    for event in events:
        emitted.setdefault(event["source_task_id"], []).append(event["uri"].rsplit("/", 1)[-1])
    return emitted


def _wait_for_task(
    api: AirflowApi, run_id: str, task_id: str, states: set[str], timeout: float = 300
) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ti = _task_instances(api, run_id)[task_id]
        if ti["state"] in states:
            return ti
        time.sleep(2)
    raise TimeoutError(f"{task_id} not in {states} after {timeout} s: {ti['state']}")


def test_a_broken_model_fails_its_own_task_and_a_clear_of_that_task_alone_rebuilds_it(watcher_platform):
    api: AirflowApi = watcher_platform.api
    started = time.monotonic()
    run_id = api.trigger(DAG_ID)
    assert api.wait_for_run(DAG_ID, run_id, timeout=600) == "failed"
    first = _task_instances(api, run_id)
    states = {task_id: ti["state"] for task_id, ti in first.items()}
    # WATCHER: one producer ran `dbt build`; each node's status is its own task's.
    assert "dbt.dbt_producer_watcher" in states, states
    assert states[BROKEN_TASK] == "failed", states
    assert first[BROKEN_TASK]["try_number"] == 2, "its automatic retry failed too"
    # The producer pushes only each node's finished event and errors (orchestration.cosmos): still enough for
    # the failed task's own log to say why.
    log = api.get(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{BROKEN_TASK}/logs/1")
    assert "no_such_table" in log.text, log.text[-2000:]
    assert states["dbt.stg_rentals.run"] == "success", states
    # Its tests' retry ran once the producer had ended, with dbt: CAUTIOUS selection leaves out the test that
    # reads the broken model, so they pass and what reads stg_rentals runs.
    retried = first["dbt.stg_rentals.test"]
    assert (retried["state"], retried["try_number"]) == ("success", 2), f"{retried}\n{states}"
    log = api.get(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/dbt.stg_rentals.test/logs/2")
    assert "completed successfully for model 'model.byo_bikes.stg_rentals'" in log.text, log.text[-2000:]
    assert states["dbt.station_usage.run"] == "upstream_failed", states
    assert states["dbt.stations_seed"] == states["dbt.rentals_seed"] == "success", states
    assert first["dbt.dbt_producer_watcher"]["pool"] == "duckdb"
    assert first["dbt.stg_rentals.run"]["pool"] == "default_pool", (
        "consumers only read XCom: outside the pool"
    )
    print(f"[timing] broken run: {time.monotonic() - started:.1f} s")
    # A failing dbt test fails its model's test task, not the model's; its automatic retry ran the model's
    # tests with dbt (Cosmos's fallback) and failed too.
    assert states["dbt.daily_rentals.run"] == "success", f"{states}"
    assert states[FAILING_TEST_TASK] == "failed", states
    assert first[FAILING_TEST_TASK]["try_number"] == 2, "its automatic retry failed too"
    # Each built seed and model emits its table's asset once; the failed and the upstream_failed ones none.
    emitted = _asset_events(api, run_id)
    assert {"dbt.stations_seed", "dbt.rentals_seed", "dbt.stg_rentals.run"} <= set(emitted), emitted
    assert BROKEN_TASK not in emitted and "dbt.station_usage.run" not in emitted, emitted
    assert emitted["dbt.stg_rentals.run"] == ["stg_rentals"], emitted

    watcher_platform.model.write_text(watcher_platform.good_sql)
    cleared_at = time.monotonic()
    assert api.clear_tasks(DAG_ID, run_id, [BROKEN_TASK]) == {BROKEN_TASK}
    fixed = _wait_for_task(api, run_id, BROKEN_TASK, {"success", "failed"})
    assert fixed["state"] == "success", fixed
    print(f"[timing] clear to success: {time.monotonic() - cleared_at:.1f} s")
    assert _asset_events(api, run_id)[BROKEN_TASK] == [BROKEN_MODEL], "the rebuilt model's asset, once"

    after = _task_instances(api, run_id)
    unchanged = {task_id for task_id, ti in after.items() if task_id != BROKEN_TASK}
    for task_id in unchanged:
        assert after[task_id]["try_number"] == first[task_id]["try_number"], f"{task_id} ran again"
        assert after[task_id]["state"] == first[task_id]["state"], task_id
    log = api.get(f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{BROKEN_TASK}/logs/{fixed['try_number']}")
    assert BROKEN_MODEL in log.text and "dbt run completed successfully on retry" in log.text, log.text[
        -2000:
    ]

    # The failing test fixed: clearing its task alone runs the model's tests with dbt on a worker.
    watcher_platform.schema.write_text(watcher_platform.good_schema)
    assert api.clear_tasks(DAG_ID, run_id, [FAILING_TEST_TASK]) == {FAILING_TEST_TASK}
    fixed = _wait_for_task(api, run_id, FAILING_TEST_TASK, {"success", "failed"})
    assert fixed["state"] == "success", fixed
    log = api.get(
        f"dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{FAILING_TEST_TASK}/logs/{fixed['try_number']}"
    )
    assert "dbt test completed successfully for model 'model.byo_bikes.daily_rentals'" in log.text, log.text[
        -2000:
    ]
