"""Table-level lineage read back from the OpenLineage event files Airflow's file transport writes: one edge per
(input dataset, output dataset, job) seen in any run event, deduplicated over all runs."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# OpenLineage namespaces of databases (postgres://host:port, duckdb://path): their datasets are tables.
WAREHOUSE_SCHEMES = ("postgres", "duckdb")


@dataclass(frozen=True, order=True)
class Node:
    """An OpenLineage dataset: a table (database namespace), an object prefix (s3://bucket) or a path (file)."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"file://{self.name}" if self.namespace == "file" else f"{self.namespace}/{self.name}"

    def label(self, namespaces: bool = False) -> str:
        """A warehouse table is shown as `database.schema.table` unless `namespaces`; other datasets whole."""
        is_table = self.namespace.split("://")[0] in WAREHOUSE_SCHEMES
        return self.name if is_table and not namespaces else str(self)


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


def format_edges(edges: list[Edge], namespaces: bool = False) -> str:
    """One line per edge, `source -> target  [job]`; tables without their namespace unless `namespaces`."""
    lines = [
        f"{edge.source.label(namespaces)} -> {edge.target.label(namespaces)}  [{edge.job}]" for edge in edges
    ]
    return "\n".join(lines) if lines else "no lineage events yet"
