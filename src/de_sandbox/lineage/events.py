"""Table-level lineage read back from the OpenLineage event files Airflow's file transport writes: one edge per
(input dataset, output dataset, job) seen in any run event, deduplicated over all runs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Node:
    namespace: str
    name: str

    def __str__(self) -> str:
        return (
            f"{self.namespace}/{self.name}" if self.namespace == "file" else f"{self.namespace} {self.name}"
        )


@dataclass(frozen=True, order=True)
class Edge:
    """Data flowed from `source` to `target` in a run of `job` (`dag_id.task_id` for Airflow tasks)."""

    source: Node
    target: Node
    job: str


def read_events(directory: Path) -> Iterator[dict]:
    """Every run event in `directory`, oldest file first; a file may hold one event per line (append mode)."""
    for path in sorted(directory.glob("*.json")):
        for line in path.read_text().splitlines():
            if line.strip():
                event = json.loads(line)
                if "run" in event and "job" in event:
                    yield event


def _nodes(datasets: Iterable[dict] | None) -> list[Node]:
    return [Node(d["namespace"], d["name"]) for d in datasets or ()]


def table_edges(events: Iterable[dict], dag_id: str | None = None) -> list[Edge]:
    """Input -> output edges of every job (of one DAG when `dag_id` is given), sorted and without repeats."""
    edges = set()
    for event in events:
        job = event["job"]["name"]
        if dag_id and not job.startswith(f"{dag_id}."):
            continue
        for source in _nodes(event.get("inputs")):
            for target in _nodes(event.get("outputs")):
                if source != target:
                    edges.add(Edge(source, target, job))
    return sorted(edges)


def lineage_edges(directory: Path, dag_id: str | None = None) -> list[Edge]:
    """The edges of every event file in `directory` (none when it does not exist yet)."""
    return table_edges(read_events(directory), dag_id) if directory.is_dir() else []


def format_edges(edges: list[Edge]) -> str:
    lines = [f"{edge.source}  ->  {edge.target}    [{edge.job}]" for edge in edges]
    return "\n".join(lines) if lines else "no lineage events yet"
