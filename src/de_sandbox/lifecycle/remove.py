"""`make pipeline-remove`: list everything a pipeline left anywhere; with CONFIRM=1 archive its ledger and
quarantine rows and its raw objects, then remove all of it, so the repository is as before it was added."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from de_sandbox.airflow_env import embedded_env
from de_sandbox.dbt.project import manifest_path
from de_sandbox.ingestion import ledger
from de_sandbox.ingestion.objectstore import ObjectStore
from de_sandbox.lifecycle.inventory import Inventory, active_runs, collect
from de_sandbox.lifecycle.layout import NAME_PATTERN, PipelineError, PipelineLayout
from de_sandbox.settings import Settings
from de_sandbox.warehouse import connect

# Inside the archive bucket (or data/archive/): kept on purpose, apart from the pipeline's own `<name>/` keys.
ARCHIVE_PREFIX = "removed"


def describe(inventory: Inventory, layout: PipelineLayout) -> list[str]:
    """One line per thing that would be removed."""
    lines = [f"file     {layout.relative(path)}{'/' if path.is_dir() else ''}" for path in inventory.files]
    lines += [f"gx       great_expectations.yml asset {asset}" for asset in inventory.gx_assets]
    lines += [f"{obj.kind:<8} {obj.relation} ({obj.rows} rows)" for obj in inventory.warehouse]
    if inventory.ledger_rows:
        lines.append(f"rows     {ledger.LEDGER_TABLE}: {inventory.ledger_rows} of pipeline {inventory.name}")
    if inventory.quarantine_rows:
        lines.append(
            f"rows     {ledger.QUARANTINE_TABLE}: {inventory.quarantine_rows} of pipeline {inventory.name}"
        )
    for bucket, keys in (inventory.objects or {}).items():
        lines += [f"object   s3://{bucket}/{key}" for key in keys]
    if inventory.platform_dag:
        lines.append(
            f"airflow  DAG {inventory.name} and its runs on the platform at {inventory.platform.base_url}"
        )
    if inventory.embedded_dag_runs:
        lines.append(f"airflow  DAG {inventory.name} and its runs in the embedded metadata DB (make run)")
    return lines


def dependents_line(inventory: Inventory) -> str:
    return f"{', '.join(inventory.dependents)} use(s) the models of {inventory.name}"


def _csv(columns: list[str], rows: list[tuple]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue().encode()


def _ops_tables(settings: Settings, name: str) -> dict[str, bytes]:
    """run_ledger.csv and quarantine.csv with every row of the pipeline."""
    tables = {}
    with connect(settings) as connection:
        for table in (ledger.LEDGER_TABLE, ledger.QUARANTINE_TABLE):
            schema, _, bare = table.partition(".")
            if connection.table_exists(schema, bare):
                columns, rows = connection.query(f"select * from {table} where pipeline = ?", (name,))
                tables[f"{bare}.csv"] = _csv(columns, rows)
    return tables


def archive(settings: Settings, inventory: Inventory) -> str:
    """Copy the ledger and quarantine rows and every object of the pipeline to the archive bucket under
    `removed/<name>/<time>/`, or to data/archive/<name>/<time>/ when no store answers; returns where."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    prefix = f"{ARCHIVE_PREFIX}/{inventory.name}/{stamp}"
    tables = (
        _ops_tables(settings, inventory.name) if inventory.ledger_rows or inventory.quarantine_rows else {}
    )
    if not tables and not any((inventory.objects or {}).values()):
        return "nowhere (no ledger or quarantine rows, no objects)"
    if inventory.objects is None:
        folder = settings.data_dir / "archive" / inventory.name / stamp
        folder.mkdir(parents=True, exist_ok=True)
        for file_name, body in tables.items():
            (folder / file_name).write_bytes(body)
        return str(folder)
    store = ObjectStore()
    store.ensure_buckets()
    for file_name, body in tables.items():
        store.put(store.archive_bucket, f"{prefix}/{file_name}", body, "text/csv")
    from minio.commonconfig import CopySource

    for bucket, keys in inventory.objects.items():
        for key in keys:
            store.client.copy_object(
                store.archive_bucket, f"{prefix}/{bucket}/{key}", CopySource(bucket, key)
            )
    return f"s3://{store.archive_bucket}/{prefix}/"


def drop_warehouse_objects(settings: Settings, inventory: Inventory) -> None:
    """Drop the pipeline's relations, marts first, and delete its ledger and quarantine rows, in one transaction."""
    order = {"marts": 0, "intermediate": 1, "staging": 2, "raw": 3}
    with connect(settings) as connection:
        for obj in sorted(inventory.warehouse, key=lambda o: order.get(o.schema, -1)):
            kind = "view" if obj.kind == "view" else "table"
            connection.execute(f'drop {kind} if exists "{obj.schema}"."{obj.name}"')
        for table, count in (
            (ledger.LEDGER_TABLE, inventory.ledger_rows),
            (ledger.QUARANTINE_TABLE, inventory.quarantine_rows),
        ):
            if count:
                connection.execute(f"delete from {table} where pipeline = ?", (inventory.name,))


def delete_objects(inventory: Inventory) -> None:
    store = ObjectStore()
    for bucket, keys in (inventory.objects or {}).items():
        for key in keys:
            store.client.remove_object(bucket, key)


def delete_embedded_dag(settings: Settings, dag_id: str) -> None:
    """Airflow's own delete_dag on the embedded SQLite metadata, in a child with the embedded environment."""
    code = "import sys; from airflow.api.common.delete_dag import delete_dag; delete_dag(sys.argv[1])"
    env = {**os.environ, **embedded_env(settings)}
    proc = subprocess.run([sys.executable, "-c", code, dag_id], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise PipelineError(f"could not delete DAG {dag_id} from the embedded metadata DB: {last}")


def delete_platform_dag(inventory: Inventory) -> None:
    api, name = inventory.platform, inventory.name
    response = api.session.delete(f"{api.base_url}/api/v2/dags/{name}", timeout=60)
    if response.status_code not in (204, 404):
        raise PipelineError(
            f"the platform at {api.base_url} refused to delete DAG {name}: HTTP {response.status_code}; "
            "delete it in the Airflow UI"
        )


def delete_gx_assets(settings: Settings, inventory: Inventory) -> None:
    """Remove the pipeline's assets from great_expectations.yml through GX itself (it owns the file's layout)."""
    from de_sandbox.quality.context import open_context

    context = open_context(settings)
    for entry in inventory.gx_assets:
        source, _, asset = entry.partition(": ")
        context.data_sources.get(source).delete_asset(asset)


def delete_files(inventory: Inventory, models_dir: Path) -> None:
    for path in inventory.files:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    for path in inventory.files:
        cache = path.parent / "__pycache__"
        for stale in cache.glob(f"{path.stem}.*.pyc") if path.suffix == ".py" else ():
            stale.unlink()
        # A model folder the removal emptied goes too (git keeps no empty folders).
        folder = path.parent
        if (
            folder.is_relative_to(models_dir)
            and folder != models_dir
            and folder.is_dir()
            and not any(folder.iterdir())
        ):
            folder.rmdir()


def remove(settings: Settings, name: str, confirm: bool) -> int:
    if not NAME_PATTERN.match(name or ""):
        raise PipelineError(f"NAME={name!r} is not a pipeline name: `make pipeline-list` shows the pipelines")
    layout = PipelineLayout(settings.repo_root, name)
    inventory = collect(settings, name)
    if inventory.empty:
        raise PipelineError(
            f"no pipeline {name!r} here (no config, DAG, models, tables, rows or objects): "
            "`make pipeline-list` shows the pipelines"
        )
    lines = describe(inventory, layout)
    if not confirm:
        print(f"[de-sandbox] pipeline-remove {name}: would archive then remove {len(lines)} item(s):")
        notes = inventory.notes + (
            [f"{dependents_line(inventory)}: change them first"] if inventory.dependents else []
        )
        print("\n".join(f"  {line}" for line in lines + [f"note     {note}" for note in notes]))
        print(
            f"[de-sandbox] nothing changed; run `make pipeline-remove NAME={name} CONFIRM=1` to remove them"
        )
        return 0
    if inventory.dependents:
        raise PipelineError(
            f"{dependents_line(inventory)}: remove or change them first, then remove {name} again"
        )
    if active := active_runs(settings, inventory):
        raise PipelineError(
            f"pipeline {name} has a run in progress ({'; '.join(active)}): wait for it to finish, then remove again"
        )
    where = archive(settings, inventory)
    print(f"[de-sandbox] archived ledger, quarantine rows and objects of {name} to {where}")
    if inventory.warehouse or inventory.ledger_rows or inventory.quarantine_rows:
        drop_warehouse_objects(settings, inventory)
    delete_objects(inventory)
    if inventory.gx_assets:
        delete_gx_assets(settings, inventory)
    # The DAG file goes before its metadata: a platform's dag-processor would otherwise parse it back in.
    delete_files(inventory, settings.dbt_project_dir / "models")
    # The working manifest still lists the removed models; without it the next run parses the project afresh.
    manifest_path(settings).unlink(missing_ok=True)
    if inventory.platform_dag:
        delete_platform_dag(inventory)
    if inventory.embedded_dag_runs:
        delete_embedded_dag(settings, name)
    print("\n".join(f"  removed {line}" for line in lines))
    print(f"[de-sandbox] removed pipeline {name} ({len(lines)} item(s)); the archive stays at {where}")
    return 0
