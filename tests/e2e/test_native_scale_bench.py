"""The scale bench project runs green through its DAG on a throwaway native platform in WATCHER mode, over 10,000
generated order lines (DuckDB warehouse): the path `make bench BENCH_MODES=native` times. A platform of its own and
84 tasks take ~2.5 minutes, beyond make test's budget: `make test-long` runs it. make test covers the same parts
apart: WATCHER on the native platform (test_native_watcher), the scale project with plain dbt
(tests/integration/bench) and the timeline's arithmetic (tests/unit/embedded)."""

from __future__ import annotations

import shutil
import time
from contextlib import closing

import duckdb
import pytest

from de_sandbox.embedded.bench import BenchProject, bench_platform, run_timeline
from de_sandbox.embedded.timeline import format_timeline, summary
from de_sandbox.native.postgres import reachable_tmp_dir
from de_sandbox.settings import SCALE_BENCH_PROJECT_DIR, BenchSettings, get_settings, overridden_env

pytestmark = [pytest.mark.e2e, pytest.mark.long, pytest.mark.timeout(2400)]

ROWS = 10_000
RUN_TIMEOUT_S = 1800


@pytest.fixture(scope="module")
def scale_platform():
    cache = reachable_tmp_dir("de-sandbox-scale-data-")
    try:
        with overridden_env(DBT_PROJECT_DIR=str(SCALE_BENCH_PROJECT_DIR), WAREHOUSE="duckdb"):
            project = BenchProject(BenchSettings("scale", ROWS, "duckdb", "", None, cache), get_settings())
            project.generate()
            # WATCHER: the fastest mode for a DAG of dbt nodes only (README "Why these Cosmos modes"); in the
            # platforms' default LOCAL mode its 84 tasks take ~9 minutes, too long for the suite.
            with bench_platform(project, "native:watcher") as (platform, api):
                yield project, platform, api
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def test_the_scale_dag_builds_green_on_the_native_platform(scale_platform, record_timing):
    project, platform, api = scale_platform
    started = time.monotonic()
    run_id = api.trigger(project.dag_id)
    state = api.wait_for_run(project.dag_id, run_id, timeout=RUN_TIMEOUT_S)
    record_timing("scale_bench_10k_rows_run", time.monotonic() - started)
    tasks = api.task_states(project.dag_id, run_id)
    assert state == "success", {t: s for t, s in tasks.items() if s != "success"}
    assert tasks and all(s == "success" for s in tasks.values())
    # What `make bench` prints after a native run: every task's split, dbt's SQL from the producer's run_results.
    timeline = run_timeline(platform, api, project.dag_id, run_id)
    print(format_timeline(timeline))
    assert {t.task_id for t in timeline} == set(tasks)
    producer = next(t for t in timeline if t.task_id.endswith("dbt_producer_watcher"))
    assert producer.dbt_s is not None and 0 < producer.dbt_s <= producer.running_s, producer
    totals = summary(timeline)
    assert 0 < totals["dbt_s"] < totals["running_s"], totals
    assert totals["first_start_to_last_end_s"] <= time.monotonic() - started, totals
    with closing(duckdb.connect(str(platform.settings.duckdb_path), read_only=True)) as conn:
        assert conn.execute("select count(*) from marts.fct_order_lines").fetchone()[0] == ROWS
        assert conn.execute("select count(*) from marts.agg_customer_rfm").fetchone()[0] > 0
