"""Assets and lineage on the native platform: an ingestion hour triggered over REST emits asset events for its
landing prefix, raw table and marts, the asset-driven DAG runs by itself, and OpenLineage files record every task."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import pytest

from de_sandbox.ingestion.config import load_config
from de_sandbox.ingestion.sources import source_location
from de_sandbox.lineage.datasets import warehouse_table
from de_sandbox.lineage.events import Node, read_events, table_edges
from de_sandbox.orchestration.lineage import asset
from de_sandbox.settings import REPO_ROOT, get_ingestion_settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

HOURLY, DAILY = "wikipedia_pageviews", "wikipedia_pageviews_daily"
URI_WARNINGS = ("URIs validation rules changed", "Asset (Dataset) URI")


def _run_events(lineage_dir, dag_id: str, run_id: str) -> list[dict]:
    def run_of(event: dict) -> str | None:
        facets = event["run"]["facets"]
        dag_run = (
            facets.get("airflow", {}).get("dagRun") or facets.get("airflowDagRun", {}).get("dagRun") or {}
        )
        return dag_run.get("run_id")

    return [
        e for e in read_events(lineage_dir) if e["job"]["name"].startswith(dag_id) and run_of(e) == run_id
    ]


def _asset_triggered_runs(api) -> list[dict]:
    return api.get_json(f"dags/{DAILY}/dagRuns", run_type="asset_triggered")["dag_runs"]


def _task_logs(platform, dag_id: str, run_id: str) -> list[str]:
    folder = platform.airflow_home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
    return [path.read_text(errors="replace") for path in folder.rglob("*.log")]


def test_ingestion_hour_emits_assets_triggers_the_rollup_and_writes_lineage(
    native_platform, airflow_api, record_timing
):
    settings = native_platform.settings
    airflow_api.wait_for_dag(HOURLY, timeout=60)
    airflow_api.wait_for_dag(DAILY, timeout=60)
    already_triggered = {run["dag_run_id"] for run in _asset_triggered_runs(airflow_api)}

    started = time.monotonic()
    run_id = airflow_api.trigger(HOURLY, logical_date="2026-01-01T08:00:00Z")
    assert airflow_api.wait_for_run(HOURLY, run_id, timeout=1200) == "success"

    # Asset events of the run: landing prefix and raw table (our outlets), staging and marts (Cosmos's).
    asset_events = airflow_api.get_json(
        "assets/events", source_dag_id=HOURLY, source_run_id=run_id, limit=100
    )
    uris = {event["uri"] for event in asset_events["asset_events"]}
    ingestion = get_ingestion_settings()
    expected = {
        f"s3://{ingestion.bucket_raw}/{HOURLY}",
        asset(warehouse_table(settings, "raw.wikipedia_pageviews")).uri,
        asset(warehouse_table(settings, "marts.fct_wikipedia_pageviews")).uri,
        asset(warehouse_table(settings, "marts.dim_wikipedia_pages")).uri,
    }
    assert expected <= uris, uris
    assert any("/staging/" in uri for uri in uris), uris

    # The rollup runs by itself (asset_triggered) once the hourly fact has been updated.
    def new_rollup_run():
        runs = [r for r in _asset_triggered_runs(airflow_api) if r["dag_run_id"] not in already_triggered]
        return runs[0]["dag_run_id"] if runs else None

    rollup_run = airflow_api._poll(new_rollup_run, timeout=300, what=f"an asset-triggered run of {DAILY}")
    assert airflow_api.wait_for_run(DAILY, rollup_run, timeout=900) == "success", airflow_api.task_states(
        DAILY, rollup_run
    )
    record_timing("hourly_trigger_to_asset_triggered_rollup_success", time.monotonic() - started)

    # OpenLineage: START and COMPLETE for every task of both runs, with the datasets each one read and wrote.
    counts = {}
    for dag_id, dag_run in ((HOURLY, run_id), (DAILY, rollup_run)):
        events = _run_events(settings.lineage_dir, dag_id, dag_run)
        types = defaultdict(set)
        for event in events:
            types[event["job"]["name"]].add(event["eventType"])
        tasks = airflow_api.get_json(f"dags/{dag_id}/dagRuns/{dag_run}/taskInstances", limit=1000)[
            "task_instances"
        ]
        # The scheduler marks an EmptyOperator (WATCHER's producer_watcher_done) done without running it: no events.
        ran = {ti["task_id"] for ti in tasks if ti.get("operator") != "EmptyOperator"}
        missing = {t for t in ran if {"START", "COMPLETE"} - types[f"{dag_id}.{t}"]}
        assert not missing, f"{dag_id}: tasks without START+COMPLETE events: {missing}"
        counts[dag_id] = {"tasks": len(tasks), "lineage_events": len(events)}
        counts[dag_id]["asset_events"] = airflow_api.get_json(
            "assets/events", source_dag_id=dag_id, source_run_id=dag_run, limit=100
        )["total_entries"]
        if dag_id == HOURLY:
            hourly_events = events

    warehouse = f"postgres://{settings.postgres_host}:{settings.postgres_port}"
    db = settings.warehouse_db
    landing = Node(f"s3://{ingestion.bucket_raw}", HOURLY)
    raw = Node(warehouse, f"{db}.raw.wikipedia_pageviews")
    fact = Node(warehouse, f"{db}.marts.fct_wikipedia_pageviews")
    edges = {(e.source, e.target, e.job.split(".", 1)[1]) for e in table_edges(hourly_events)}
    source = Node("file", str(Path(source_location(load_config("wikipedia_pageviews"))).resolve()))
    assert (source, landing, "extract") in edges, edges
    assert (landing, raw, "load") in edges, edges
    staging = {target for source, target, _ in edges if source == raw}
    assert staging and any((source, target) == (s, fact) for source, target, _ in edges for s in staging)
    rollup_edges = {
        (e.source, e.target) for e in table_edges(_run_events(settings.lineage_dir, DAILY, rollup_run))
    }
    assert (fact, Node(warehouse, f"{db}.marts.fct_wikipedia_pageviews_daily")) in rollup_edges

    # Cosmos's assets use Airflow 3's URI standard: no migration warning in any task log.
    for dag_id, dag_run in ((HOURLY, run_id), (DAILY, rollup_run)):
        logs = _task_logs(native_platform, dag_id, dag_run)
        assert logs, f"no task logs for {dag_id} {dag_run}"
        assert not [w for log in logs for w in URI_WARNINGS if w in log], f"URI warning in {dag_id} task logs"
    (REPO_ROOT / "test-output" / "native_platform" / "lineage_counts.json").write_text(
        json.dumps(counts, indent=2) + "\n"
    )
    print(f"[lineage] {counts}")
