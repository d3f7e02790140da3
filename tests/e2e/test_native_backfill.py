"""Backfills of wikipedia_pageviews through Airflow 3's backfill API, 4 runs at a time, on the native platform
(PostgreSQL warehouse): every window loaded exactly once, its audit green, its facts equal to its sample."""

from __future__ import annotations

import gzip
import os
import shutil
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from de_sandbox.ingestion import pageviews
from de_sandbox.ingestion.config import load_config
from de_sandbox.ingestion.sources import source_location
from de_sandbox.native.platform import Platform, down, up
from de_sandbox.native.postgres import reachable_tmp_dir

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3600)]

DAG_ID = "wikipedia_pageviews"
RUNS_AT_A_TIME = 4


def _expected_lines(source: Path, window: datetime) -> int:
    return len(gzip.decompress((source / pageviews.relative_path(window)).read_bytes()).splitlines())


def _per_window(platform, first: datetime, last: datetime) -> dict[datetime, dict]:
    """Ledger, raw and mart counts of each window in [first, last] (UTC, naive in the warehouse)."""
    with closing(platform.postgres.connect(platform.settings.warehouse_db)) as conn, conn.cursor() as cur:
        bounds = (first.replace(tzinfo=None), last.replace(tzinfo=None))
        cur.execute(
            "select window_start, phase, status, rows_source, rows_stage, rows_quarantined from ops.run_ledger"
            " where pipeline = %s and window_start between %s and %s order by started_at",
            (DAG_ID, *bounds),
        )
        windows: dict[datetime, dict] = {}
        for window, phase, status, source, stage, quarantined in cur.fetchall():
            entry = windows.setdefault(window.replace(tzinfo=UTC), {"phases": [], "loads": []})
            entry["phases"].append((phase, status))
            if phase == "load" and status == "success":
                entry["loads"].append((source, stage, quarantined))
        for table, column, key in (
            ("raw.wikipedia_pageviews", "window_start", "raw"),
            ("marts.fct_wikipedia_pageviews", "pageview_hour", "facts"),
        ):
            cur.execute(
                f"select {column}, count(*) from {table} where {column} between %s and %s group by 1", bounds
            )
            for window, count in cur.fetchall():
                windows.setdefault(window.replace(tzinfo=UTC), {"phases": [], "loads": []})[key] = count
        cur.execute("select count(*) - count(distinct page_key) from marts.dim_wikipedia_pages")
        duplicate_pages = cur.fetchone()[0]
    assert duplicate_pages == 0, f"{duplicate_pages} duplicate page_key rows in dim_wikipedia_pages"
    return windows


def _most_runs_at_once(runs: list[dict]) -> int:
    # An end and a start at the same moment are not an overlap: ends sort first.
    events = sorted(
        [(datetime.fromisoformat(run["start_date"]), 1) for run in runs]
        + [(datetime.fromisoformat(run["end_date"]), -1) for run in runs]
    )
    running = most = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def backfill_loads_every_window_once(platform, api, source: Path, first: datetime, hours: int, record_timing):
    """Backfill `hours` windows from `first`, 4 runs at a time; check each window against its sample."""
    windows = [first + timedelta(hours=h) for h in range(hours)]
    api.wait_for_dag(DAG_ID, timeout=60)
    # A run's window is its data interval; Airflow backfills the intervals that start in [from_date, to_date].
    backfill_id = api.backfill(DAG_ID, windows[0].isoformat(), windows[-1].isoformat(), RUNS_AT_A_TIME)
    # Up to 2.5 min per window on a 2-core machine loaded by other work, never less than 50 min.
    seconds = api.wait_for_backfill(backfill_id, timeout=max(3000, 150 * hours))
    record_timing(f"backfill_{hours}h_{RUNS_AT_A_TIME}_at_a_time", seconds)
    check_windows(platform, api, source, windows)
    print(f"[backfill] {hours} windows, {RUNS_AT_A_TIME} runs at a time: {seconds:.0f} s")
    return seconds


def check_windows(platform, api, source: Path, windows: list[datetime]) -> None:
    """One successful backfill run per window, 4 at once and never more; each window's counts = its sample's."""
    runs = [
        run
        for run in api.get_json(f"dags/{DAG_ID}/dagRuns", run_type="backfill", limit=1000)["dag_runs"]
        if windows[0] <= datetime.fromisoformat(run["data_interval_start"]) <= windows[-1]
    ]
    starts = sorted(datetime.fromisoformat(run["data_interval_start"]) for run in runs)
    assert starts == windows, f"one backfill run per window: {starts}"
    assert {run["state"] for run in runs} == {"success"}, [(r["dag_run_id"], r["state"]) for r in runs]
    # More windows than slots: 4 runs side by side, the rest queued behind them, never a 5th at once.
    assert _most_runs_at_once(runs) == RUNS_AT_A_TIME
    counts = _per_window(platform, windows[0], windows[-1])
    assert sorted(counts) == windows
    for window, entry in counts.items():
        assert len(entry["loads"]) == 1, (window, entry)
        source_rows, stage, quarantined = entry["loads"][0]
        assert source_rows == _expected_lines(source, window) == stage + quarantined, (window, entry)
        assert entry["raw"] == stage == entry["facts"], (window, entry)
        audits = [status for phase, status in entry["phases"] if phase == "audit"]
        assert audits and audits[-1] == "success", (window, entry)
        assert all(status != "running" for _, status in entry["phases"]), (window, entry)


def test_a_6_hour_backfill_4_at_a_time_loads_every_window_once(native_platform, airflow_api, record_timing):
    """Six bundled sample hours no other test loads (14:00-19:00 on 2026-01-01): more windows than the 4 slots,
    so two runs queue; eight cost a third more and prove nothing more (README "Reliability")."""
    source = Path(source_location(load_config("wikipedia_pageviews")))
    first = datetime(2026, 1, 1, 14, tzinfo=UTC)
    backfill_loads_every_window_once(native_platform, airflow_api, source, first, 6, record_timing)


@pytest.fixture(scope="module")
def two_day_platform():
    """A platform of its own whose pageview source holds 48 generated sample hours (2026-01-01 and -02)."""
    from de_sandbox.airflow_api import AirflowApi

    data_dir = reachable_tmp_dir("de-sandbox-backfill-")
    source = data_dir / "pageviews"
    pageviews.write_samples(source, datetime(2026, 1, 1, tzinfo=UTC), 48)
    previous = os.environ.get("PAGEVIEWS_SOURCE")
    os.environ["PAGEVIEWS_SOURCE"] = str(source)
    platform = Platform.throwaway(data_dir, warehouse="postgres")
    try:
        up(platform, timeout=300)
        api = AirflowApi(platform.api_url, platform.admin_user, platform.admin_password)
        api.login()
        yield platform, api, source
    finally:
        down(platform)
        if previous is None:
            os.environ.pop("PAGEVIEWS_SOURCE", None)
        else:
            os.environ["PAGEVIEWS_SOURCE"] = previous
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.mark.long
@pytest.mark.timeout(10800)
def test_a_48_hour_backfill_4_at_a_time_loads_every_window_once(two_day_platform, record_timing):
    """The whole 48 hours (~670 task processes): `make test-backfill`, not in `make test` (see the README)."""
    platform, api, source = two_day_platform
    started = time.monotonic()
    backfill_loads_every_window_once(
        platform, api, source, datetime(2026, 1, 1, tzinfo=UTC), 48, record_timing
    )
    record_timing("backfill_48h_wall", time.monotonic() - started)
