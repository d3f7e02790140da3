"""An embedded run (dag.test) of an ingestion hour writes OpenLineage events through Airflow's provider: START and
COMPLETE for every task, and table-level edges from the source file to the mart."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from de_sandbox.embedded.runner import run_dag
from de_sandbox.ingestion.config import load_config
from de_sandbox.ingestion.sources import source_location
from de_sandbox.lineage.events import Node, table_edges
from de_sandbox.settings import get_ingestion_settings, get_settings

pytestmark = pytest.mark.integration


def new_events(directory: Path, before: set[Path]) -> list[dict]:
    paths = sorted(set(directory.glob("*.json")) - before)
    return [json.loads(line) for path in paths for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.timeout(1200)
def test_wikipedia_hour_writes_start_and_complete_with_datasets_per_task(
    embedded_airflow, ingestion_env, store, output_dir
):
    settings = get_settings()
    lineage_dir = settings.lineage_dir
    before = set(lineage_dir.glob("*.json"))
    result = run_dag("wikipedia_pageviews", "2026-01-01T06:00", settings)
    assert result.state == "success", [(t.task_id, t.state) for t in result.tasks]

    events = new_events(lineage_dir, before)
    for path in sorted(set(lineage_dir.glob("*.json")) - before):
        shutil.copy(path, output_dir)
    types = defaultdict(set)
    for event in events:
        types[event["job"]["name"]].add(event["eventType"])
    task_ids = {t.task_id for t in result.tasks}
    assert {f"wikipedia_pageviews.{task_id}" for task_id in task_ids} <= set(types)
    assert all({"START", "COMPLETE"} <= types[f"wikipedia_pageviews.{t}"] for t in task_ids), dict(types)

    ingestion = get_ingestion_settings()
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
