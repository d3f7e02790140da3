"""Everything that belongs to one pipeline, wherever it lives: files in the repository, warehouse objects in every
layer, run-ledger and quarantine rows, objects in both buckets, and Airflow's records of its DAG."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from de_sandbox.airflow_api import AirflowApi
from de_sandbox.airflow_env import embedded_env
from de_sandbox.ingestion import ledger
from de_sandbox.ingestion.objectstore import ObjectStore
from de_sandbox.lifecycle.layout import LAYERS, PipelineLayout
from de_sandbox.lifecycle.tagged import tagged_models
from de_sandbox.settings import (
    Settings,
    get_ingestion_settings,
    get_monitoring_settings,
    get_platform_settings,
    published_port,
)
from de_sandbox.warehouse import connect

ACTIVE_RUN_STATES = ("queued", "running")


@dataclass(frozen=True)
class WarehouseObject:
    schema: str
    name: str
    kind: str
    rows: int

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Inventory:
    name: str
    files: list[Path] = field(default_factory=list)
    gx_assets: list[str] = field(default_factory=list)
    warehouse: list[WarehouseObject] = field(default_factory=list)
    ledger_rows: int = 0
    quarantine_rows: int = 0
    # bucket -> keys under `<name>/`; None when no object store answers.
    objects: dict[str, list[str]] | None = None
    # The platform's REST API when one answers (None otherwise), and whether it knows the DAG.
    platform: AirflowApi | None = None
    platform_dag: bool = False
    embedded_dag_runs: int = 0
    # Models and tests of other pipelines that use this one's models (removal refuses while there are any).
    dependents: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.files
            or self.gx_assets
            or self.warehouse
            or self.ledger_rows
            or self.quarantine_rows
            or any((self.objects or {}).values())
            or self.platform_dag
            or self.embedded_dag_runs
        )


def model_relations(layout: PipelineLayout) -> list[tuple[str, str]]:
    """(schema, name) of the pipeline's models (one folder per layer, schema = layer) and its raw table."""
    relations = [("raw", layout.name)]
    for layer, folder in zip(LAYERS, layout.model_dirs, strict=True):
        relations += [(layer, sql.stem) for sql in sorted(folder.glob("*.sql"))] if folder.is_dir() else []
    return relations


def repo_files(layout: PipelineLayout, relations: list[tuple[str, str]]) -> list[Path]:
    """The pipeline's files and folders that exist: config, DAG, model folders, sample data, GX files."""
    candidates = [layout.config, layout.dag, *layout.model_dirs, layout.sample_dir]
    for schema, table in relations:
        candidates += layout.gx_files(schema, table)
    return [path for path in dict.fromkeys(candidates) if path.exists()]


def gx_assets(settings: Settings, relations: list[tuple[str, str]]) -> list[str]:
    """`<datasource>: <schema>.<table>` entries of great_expectations.yml that runs added for the pipeline."""
    import yaml

    config = settings.gx_root_dir / "great_expectations.yml"
    if not config.is_file():
        return []
    sources = (yaml.safe_load(config.read_text()) or {}).get("fluent_datasources") or {}
    wanted = {f"{schema}.{table}" for schema, table in relations}
    return [
        f"{source}: {asset}"
        for source, spec in sources.items()
        for asset in (spec or {}).get("assets") or {}
        if asset in wanted
    ]


def warehouse_objects(settings: Settings, relations: list[tuple[str, str]]) -> list[WarehouseObject]:
    """The relations that exist in the warehouse, with their row counts; a DuckDB file not yet made has none."""
    if settings.warehouse == "duckdb" and not settings.duckdb_path.exists():
        return []
    found = []
    with connect(settings) as connection:
        for schema, table in relations:
            kind = connection.scalar(
                "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
                (schema, table),
            )
            if kind is None:
                continue
            rows = connection.scalar(f'select count(*) from "{schema}"."{table}"')
            found.append(
                WarehouseObject(schema, table, "view" if "VIEW" in kind.upper() else "table", int(rows))
            )
    return found


def ops_rows(settings: Settings, name: str) -> tuple[int, int]:
    """Rows of the pipeline in ops.run_ledger and ops.quarantine (0 when the ops schema does not exist)."""
    if settings.warehouse == "duckdb" and not settings.duckdb_path.exists():
        return 0, 0
    counts = []
    with connect(settings) as connection:
        for table in (ledger.LEDGER_TABLE, ledger.QUARANTINE_TABLE):
            schema, _, bare = table.partition(".")
            if not connection.table_exists(schema, bare):
                counts.append(0)
                continue
            counts.append(int(connection.scalar(f"select count(*) from {table} where pipeline = ?", (name,))))
    return counts[0], counts[1]


def bucket_objects(name: str) -> dict[str, list[str]] | None:
    """Keys under `<name>/` in the raw and archive buckets, or None when no store answers (one quick try)."""
    store = ObjectStore()
    if not store.is_reachable():
        return None
    found = {}
    for bucket in (store.raw_bucket, store.archive_bucket):
        found[bucket] = store.list_keys(bucket, f"{name}/") if store.client.bucket_exists(bucket) else []
    return found


def platform_api() -> AirflowApi | None:
    """The running platform's REST API (AIRFLOW_API_URL, else 127.0.0.1:AIRFLOW_PORT), logged in; None when
    nothing answers there."""
    import requests

    url = (
        get_monitoring_settings().airflow_api_url
        or f"http://127.0.0.1:{published_port('AIRFLOW_PORT', 8080)}"
    )
    platform = get_platform_settings()
    api = AirflowApi(url, platform.admin_user, platform.admin_password, timeout=10)
    try:
        api.session.get(f"{url}/api/v2/monitor/health", timeout=3).raise_for_status()
    except requests.RequestException:
        return None
    api.login()
    return api


def _embedded_db(settings: Settings) -> Path:
    return Path(embedded_env(settings)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))


def embedded_active_runs(settings: Settings, dag_id: str, since: datetime) -> list[str]:
    """`make run` runs of the DAG still queued or running that started after `since` (a killed one is stale)."""
    db = _embedded_db(settings)
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            rows = conn.execute(
                "select run_id, state from dag_run where dag_id = ? and state in (?, ?) and start_date >= ?",
                (dag_id, *ACTIVE_RUN_STATES, f"{since:%Y-%m-%d %H:%M:%S}"),
            ).fetchall()
    except sqlite3.Error:
        return []
    return [f"DAG run {run_id} is {state} (make run)" for run_id, state in rows]


def embedded_runs(settings: Settings, dag_id: str) -> int:
    """Runs of the DAG in the embedded metadata database (`make run`), read with plain sqlite3."""
    db = _embedded_db(settings)
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            runs = conn.execute("select count(*) from dag_run where dag_id = ?", (dag_id,)).fetchone()[0]
            known = conn.execute("select count(*) from dag where dag_id = ?", (dag_id,)).fetchone()[0]
    except sqlite3.Error:
        return 0
    return max(int(runs), int(known))


def within_listed(files: list[Path]) -> list[Path]:
    """The files, less those inside a listed folder."""
    folders = [path for path in files if path.is_dir()]
    return [path for path in files if not any(path != f and path.is_relative_to(f) for f in folders)]


def collect(settings: Settings, name: str) -> Inventory:
    layout = PipelineLayout(settings.repo_root, name)
    # Models by folder (`<layer>/<name>/`) and by the config's dbt tag wherever their files live.
    tagged = tagged_models(settings, layout)
    relations = list(dict.fromkeys(model_relations(layout) + tagged.relations))
    files = within_listed(list(dict.fromkeys(repo_files(layout, relations) + tagged.files)))
    inventory = Inventory(name, files=files, gx_assets=gx_assets(settings, relations))
    inventory.dependents, inventory.notes = tagged.dependents, list(tagged.notes)
    inventory.warehouse = warehouse_objects(settings, relations)
    inventory.ledger_rows, inventory.quarantine_rows = ops_rows(settings, name)
    inventory.objects = bucket_objects(name)
    if inventory.objects is None:
        inventory.notes.append(
            "object store: none answers at MINIO_ENDPOINT, so no bucket objects are listed"
        )
    inventory.platform = platform_api()
    if inventory.platform is not None:
        inventory.platform_dag = inventory.platform.dag(name) is not None
    inventory.embedded_dag_runs = embedded_runs(settings, name)
    return inventory


def active_runs(settings: Settings, inventory: Inventory) -> list[str]:
    """What says a run of the pipeline is under way: ledger phases still `running` (younger than the stale
    limit) and queued or running DAG runs on the platform."""
    active = []
    limit = ledger.utcnow() - timedelta(minutes=get_ingestion_settings().stale_after_minutes)
    if inventory.ledger_rows:
        with connect(settings) as connection:
            rows = connection.execute(
                f"select phase, window_start, started_at from {ledger.LEDGER_TABLE}"
                " where pipeline = ? and status = ? and started_at >= ?",
                (inventory.name, ledger.RUNNING, limit),
            )
        active += [
            f"phase {phase} of window {start:%Y-%m-%d %H:%M} running since {since:%H:%M:%S}"
            for phase, start, since in rows
        ]
    active += embedded_active_runs(settings, inventory.name, limit)
    if inventory.platform is not None and inventory.platform_dag:
        runs = inventory.platform.get_json(f"dags/{inventory.name}/dagRuns", state=list(ACTIVE_RUN_STATES))
        active += [f"DAG run {run['dag_run_id']} is {run['state']}" for run in runs.get("dag_runs", [])]
    return active
