"""Durable pipeline facts (dbt results, GX validations, ingestion counts, freshness) in a small SQLite store.

Pipelines record facts from their Airflow task processes; the exporter only reads them: restarts lose nothing.
WAL mode and one short transaction per call keep concurrent writers from blocking each other.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from de_sandbox.settings import get_monitoring_settings

SCHEMA = """
create table if not exists dbt_results (
    id integer primary key autoincrement,
    recorded_at real not null,
    dag_id text not null,
    run_id text not null,
    invocation_id text,
    unique_id text not null,
    resource_type text not null,
    name text not null,
    model text not null default '',
    status text not null,
    execution_time real,
    rows_affected integer,
    failures integer,
    message text
);
create index if not exists dbt_results_node on dbt_results (dag_id, unique_id);

create table if not exists gx_results (
    id integer primary key autoincrement,
    recorded_at real not null,
    dag_id text not null,
    run_id text not null,
    suite text not null,
    success integer not null,
    evaluated integer not null,
    passed integer not null,
    failed integer not null
);
create index if not exists gx_results_suite on gx_results (suite);

create table if not exists ingestion_runs (
    id integer primary key autoincrement,
    recorded_at real not null,
    pipeline text not null,
    table_name text not null,
    window_start real,
    window_end real,
    rows_source integer,
    rows_loaded integer not null,
    rows_quarantined integer not null,
    status text not null
);
create index if not exists ingestion_runs_table on ingestion_runs (pipeline, table_name);

create table if not exists source_freshness (
    source text not null,
    table_name text not null,
    last_loaded_at real not null,
    sla_seconds real not null,
    recorded_at real not null,
    primary key (source, table_name)
);
"""

# dbt resource types whose results are reported as models (built relations) rather than tests.
MODEL_RESOURCE_TYPES = ("model", "seed", "snapshot")
TEST_RESOURCE_TYPES = ("test", "unit_test")


def db_path(path: Path | str | None = None) -> Path:
    return Path(path) if path else get_monitoring_settings().metrics_db_path


@contextmanager
def connect(path: Path | str | None = None) -> Iterator[sqlite3.Connection]:
    """A writable connection with the schema in place; commits on success, rolls back on error."""
    target = db_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(target, timeout=30)) as conn:
        conn.execute("pragma busy_timeout=30000")
        _ensure_wal(conn)
        conn.executescript(SCHEMA)
        with conn:
            yield conn


def _ensure_wal(conn: sqlite3.Connection, attempts: int = 200) -> None:
    """Switch the file to WAL once (it persists in the file). SQLite answers a concurrent switch with an
    immediate "database is locked" that skips the busy timeout, so writers racing on a new file retry."""
    for attempt in range(attempts):
        try:
            if conn.execute("pragma journal_mode").fetchone()[0] != "wal":
                conn.execute("pragma journal_mode=wal")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


@contextmanager
def connect_readonly(path: Path | str | None = None) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection, or None while no pipeline has recorded anything yet."""
    target = db_path(path)
    if not target.is_file():
        yield None
        return
    with closing(sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True, timeout=30)) as conn:
        conn.row_factory = sqlite3.Row
        conn.execute("pragma busy_timeout=30000")
        yield conn


def to_epoch(value: datetime | date | str | float | int | None) -> float | None:
    """Seconds since the epoch for a datetime, ISO string or number; naive datetimes are taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _node_names(unique_id: str, manifest_nodes: Mapping[str, Any]) -> tuple[str, str]:
    """(name, attached model) of a dbt node, from the manifest when it knows the node, else from its id."""
    node = manifest_nodes.get(unique_id)
    if node:
        # data tests name the model they test in attached_node, unit tests in model
        attached = node.get("attached_node") or node.get("model") or ""
        return node.get("name") or unique_id, attached.split(".")[-1]
    parts = unique_id.split(".")
    if parts[0] == "unit_test" and len(parts) >= 4:
        return parts[3], parts[2]
    return (parts[2] if len(parts) >= 3 else unique_id), ""


def parse_dbt_results(run_results_path: Path | str) -> list[dict[str, Any]]:
    """One row per node of a dbt run_results.json; names come from manifest.json beside it when present."""
    path = Path(run_results_path)
    if path.is_dir():
        path = (
            path / "run_results.json"
            if (path / "run_results.json").is_file()
            else path / "target" / "run_results.json"
        )
    run_results = json.loads(path.read_text())
    manifest_path = path.with_name("manifest.json")
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    manifest_nodes = {**manifest.get("nodes", {}), **manifest.get("unit_tests", {})}
    invocation_id = run_results.get("metadata", {}).get("invocation_id")
    rows = []
    for result in run_results.get("results", []):
        unique_id = result["unique_id"]
        resource_type = unique_id.split(".", 1)[0]
        name, model = _node_names(unique_id, manifest_nodes)
        rows_affected = (result.get("adapter_response") or {}).get("rows_affected")
        rows.append(
            {
                "invocation_id": invocation_id,
                "unique_id": unique_id,
                "resource_type": resource_type,
                "name": name,
                "model": model,
                "status": str(result.get("status")),
                "execution_time": result.get("execution_time"),
                # Adapters report -1 or nothing when they cannot count rows.
                "rows_affected": rows_affected
                if isinstance(rows_affected, int) and rows_affected >= 0
                else None,
                "failures": result.get("failures"),
                "message": result.get("message"),
            }
        )
    return rows


def record_dbt_results(
    run_results_path: Path | str, dag_id: str, run_id: str, db: Path | str | None = None
) -> int:
    """Store every node result of a dbt invocation (file, target or project dir); returns the row count."""
    rows = parse_dbt_results(run_results_path)
    now = time.time()
    with connect(db) as conn:
        conn.executemany(
            "insert into dbt_results (recorded_at, dag_id, run_id, invocation_id, unique_id, resource_type,"
            " name, model, status, execution_time, rows_affected, failures, message) values"
            " (:recorded_at, :dag_id, :run_id, :invocation_id, :unique_id, :resource_type, :name, :model,"
            " :status, :execution_time, :rows_affected, :failures, :message)",
            [{**row, "recorded_at": now, "dag_id": dag_id, "run_id": run_id} for row in rows],
        )
    return len(rows)


def cosmos_callback(project_dir: str, context: Mapping[str, Any] | None = None, **_: Any) -> None:
    """Cosmos `callback=`: records the run_results.json of the dbt invocation that just succeeded."""
    ti = (context or {}).get("ti")
    dag_id = getattr(ti, "dag_id", None) or "unknown"
    run_id = getattr(ti, "run_id", None) or "unknown"
    if (Path(project_dir) / "target" / "run_results.json").is_file():
        record_dbt_results(project_dir, dag_id, run_id)


def _suite_results(results: Any) -> Iterable[tuple[str | None, Mapping[str, Any]]]:
    """(suite name or None, result dict) for each suite validation inside a GX result of any common shape."""
    if isinstance(results, list | tuple):
        for item in results:
            yield from _suite_results(item)
        return
    run_results = getattr(results, "run_results", None)
    if isinstance(run_results, Mapping):  # CheckpointResult
        for suite_result in run_results.values():
            yield from _suite_results(suite_result)
        return
    if hasattr(results, "to_json_dict"):  # ExpectationSuiteValidationResult
        yield getattr(results, "suite_name", None), results.to_json_dict()
        return
    if isinstance(results, Mapping):
        if "validation_results" in results:  # CheckpointResult.describe_dict(), the GX provider's XCom
            yield from _suite_results(list(results["validation_results"]))
        elif "run_results" in results:  # CheckpointResult.to_json_dict()
            yield from _suite_results(list(results["run_results"].values()))
        else:
            yield results.get("suite_name"), results
        return
    raise TypeError(f"unsupported GX result type: {type(results).__name__}")


def record_gx_results(
    results: Any, dag_id: str, run_id: str, suite: str | None = None, db: Path | str | None = None
) -> int:
    """Store GX validation outcomes: a CheckpointResult, suite results, or their dict forms (XCom).

    Results that do not name their suite (CheckpointResult.describe_dict) take `suite`, else the dag_id.
    """
    now = time.time()
    rows = []
    found = list(_suite_results(results))
    for index, (suite_name, result) in enumerate(found):
        stats = result.get("statistics") or {}
        expectations = result.get("results", result.get("expectations", []))
        evaluated = stats.get("evaluated_expectations", len(expectations))
        passed = stats.get("successful_expectations", sum(1 for e in expectations if e.get("success")))
        name = suite_name or suite or dag_id
        if not suite_name and len(found) > 1:
            name = f"{name}[{index}]"
        rows.append(
            (
                now,
                dag_id,
                run_id,
                name,
                int(bool(result.get("success"))),
                evaluated,
                passed,
                evaluated - passed,
            )
        )
    with connect(db) as conn:
        conn.executemany(
            "insert into gx_results (recorded_at, dag_id, run_id, suite, success, evaluated, passed, failed)"
            " values (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    return len(rows)


def record_ingestion(
    pipeline: str,
    table: str,
    window_start: datetime | str | float | None,
    window_end: datetime | str | float | None,
    rows_source: int | None,
    rows_loaded: int,
    rows_quarantined: int = 0,
    status: str = "success",
    db: Path | str | None = None,
) -> None:
    """Store one ingestion run's counts for one table and window."""
    with connect(db) as conn:
        conn.execute(
            "insert into ingestion_runs (recorded_at, pipeline, table_name, window_start, window_end,"
            " rows_source, rows_loaded, rows_quarantined, status) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                time.time(),
                pipeline,
                table,
                to_epoch(window_start),
                to_epoch(window_end),
                rows_source,
                rows_loaded,
                rows_quarantined,
                status,
            ),
        )


def record_freshness(
    source: str,
    table: str,
    last_loaded_at: datetime | str | float,
    sla_seconds: float,
    db: Path | str | None = None,
) -> None:
    """Store when a source table was last loaded and how stale it may get; the exporter computes its age."""
    with connect(db) as conn:
        conn.execute(
            "insert into source_freshness (source, table_name, last_loaded_at, sla_seconds, recorded_at)"
            " values (?, ?, ?, ?, ?) on conflict (source, table_name) do update set"
            " last_loaded_at = excluded.last_loaded_at, sla_seconds = excluded.sla_seconds,"
            " recorded_at = excluded.recorded_at",
            (source, table, to_epoch(last_loaded_at), float(sla_seconds), time.time()),
        )


LATEST_DBT = (
    "select * from dbt_results where id in (select max(id) from dbt_results group by dag_id, unique_id)"
)
LATEST_GX = "select * from gx_results where id in (select max(id) from gx_results group by suite)"
GX_COUNTS = "select suite, success, count(*) as n from gx_results group by suite, success"
LATEST_INGESTION = (
    "select * from ingestion_runs where id in"
    " (select max(id) from ingestion_runs group by pipeline, table_name)"
)
INGESTION_TOTALS = (
    "select pipeline, table_name, sum(rows_loaded) as rows_loaded, sum(rows_quarantined) as rows_quarantined"
    " from ingestion_runs group by pipeline, table_name"
)
FRESHNESS = "select * from source_freshness"


FACT_QUERIES = {
    "dbt": LATEST_DBT,
    "gx": LATEST_GX,
    "gx_counts": GX_COUNTS,
    "ingestion": LATEST_INGESTION,
    "ingestion_totals": INGESTION_TOTALS,
    "freshness": FRESHNESS,
}


def empty_facts() -> dict[str, list[sqlite3.Row]]:
    return {key: [] for key in FACT_QUERIES}


def read_facts(db: Path | str | None = None) -> dict[str, list[sqlite3.Row]]:
    """Every fact the exporter serves, read in one snapshot; empty lists before the first record."""
    with connect_readonly(db) as conn:
        if conn is None:
            return empty_facts()
        try:
            # One read transaction, so every query sees the same snapshot.
            conn.execute("begin")
            facts = {key: conn.execute(sql).fetchall() for key, sql in FACT_QUERIES.items()}
            conn.execute("commit")
            return facts
        except sqlite3.OperationalError as exc:
            # A store created by an older schema or still empty of tables: serve nothing rather than fail.
            if "no such table" in str(exc):
                return empty_facts()
            raise
