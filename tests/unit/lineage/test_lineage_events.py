"""Table-level edges from OpenLineage event files recorded by an embedded wikipedia_pageviews hour."""

from __future__ import annotations

import json
from pathlib import Path

from de_sandbox.cli import main
from de_sandbox.lineage.events import Node, format_edges, lineage_edges, read_events, table_edges

RECORDED = Path(__file__).parent / "fixtures" / "wikipedia_pageviews_hour"
WAREHOUSE = "duckdb:///tmp/pytest-of-root/pytest-36/test_wikipedia_hour_writes_sta0/warehouse.duckdb"
SOURCE = Node("file", "/tmp/pytest-of-root/pytest-36/test_wikipedia_hour_writes_sta0/pageviews")
LANDING = Node("s3://raw-1", "wikipedia_pageviews")
RAW = Node(WAREHOUSE, "warehouse.raw.wikipedia_pageviews")
STAGE = Node(WAREHOUSE, "warehouse.staging.stg_wikipedia_pageviews")
FACT = Node(WAREHOUSE, "warehouse.marts.fct_wikipedia_pageviews")


def test_recorded_hour_gives_the_chain_from_source_file_to_mart():
    edges = [(e.source, e.target, e.job) for e in lineage_edges(RECORDED)]
    assert edges == sorted(
        [
            (SOURCE, LANDING, "wikipedia_pageviews.extract"),
            (LANDING, RAW, "wikipedia_pageviews.load"),
            (RAW, STAGE, "wikipedia_pageviews.dbt.stg_wikipedia_pageviews.run"),
            (STAGE, FACT, "wikipedia_pageviews.dbt.fct_wikipedia_pageviews.run"),
        ]
    )


def test_start_and_complete_of_a_task_and_later_runs_give_one_edge():
    events = list(read_events(RECORDED))
    assert {e["eventType"] for e in events if e["job"]["name"] == "wikipedia_pageviews.extract"} == {
        "START",
        "COMPLETE",
    }
    assert table_edges(events + events) == table_edges(events)


def test_tests_and_tasks_without_outputs_give_no_edges():
    events = [e for e in read_events(RECORDED) if e["job"]["name"].endswith((".test", ".check_stale"))]
    assert events and all(e.get("inputs") or e["job"]["name"].endswith("check_stale") for e in events)
    assert table_edges(events) == []


def test_appended_events_in_one_file_and_a_dag_filter(tmp_path):
    lines = [path.read_text().strip() for path in sorted(RECORDED.glob("*.json"))]
    (tmp_path / "events.json").write_text("\n".join(lines) + "\n")
    other = next(json.loads(line) for line in lines if '"wikipedia_pageviews.extract"' in line)
    other["job"]["name"] = "stavanger_parking.extract"
    (tmp_path / "other.json").write_text(json.dumps(other) + "\n")
    assert lineage_edges(tmp_path, "wikipedia_pageviews") == lineage_edges(RECORDED)
    assert len(lineage_edges(tmp_path)) == len(lineage_edges(RECORDED)) + 1


def test_missing_folder_means_no_edges(tmp_path):
    assert lineage_edges(tmp_path / "never-written") == []
    assert format_edges([]) == "no lineage events yet"


def test_cli_prints_tables_without_namespaces_and_json_with_them(capsys):
    assert main(["lineage", "--events-dir", str(RECORDED), "--dag", "wikipedia_pageviews"]) == 0
    text = capsys.readouterr().out
    assert "warehouse.raw.wikipedia_pageviews -> warehouse.staging.stg_wikipedia_pageviews" in text
    assert f"file://{SOURCE.name} -> s3://raw-1/wikipedia_pageviews  [wikipedia_pageviews.extract]" in text
    assert "duckdb://" not in text
    assert main(["lineage", "--events-dir", str(RECORDED), "--json"]) == 0
    edges = json.loads(capsys.readouterr().out)
    assert {"namespace": WAREHOUSE, "name": FACT.name} in [edge["target"] for edge in edges]
