"""`make pipeline-check`: validate a pipeline's config (every error), parse the dbt project, import its DAG, and
build its changed models and everything downstream of them (`state:modified` against the manifest of the last
deployed run) on a scratch copy of the warehouse, printing rows per model before and after. The real warehouse
is never written."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from de_sandbox.airflow_env import embedded_env, ensure_metadata_db
from de_sandbox.dbt.project import (
    DbtProjectError,
    artifacts_dir,
    dbt_executable,
    deployed_state_dir,
    ensure_manifest,
    invoke_dbt,
)
from de_sandbox.ingestion.config import PipelineConfig, PipelineConfigError, load_config
from de_sandbox.ingestion.sources import source_location
from de_sandbox.lifecycle.layout import LAYERS, PipelineError, PipelineLayout
from de_sandbox.settings import Settings
from de_sandbox.warehouse import connect

# Imports the DAG file in a child with the embedded Airflow environment; prints its task count or its errors.
_IMPORT_DAG = """
import sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
for path, error in bag.import_errors.items():
    print(f"IMPORT-ERROR {error.strip().splitlines()[-1]}")
if bag.import_errors or sys.argv[2] not in bag.dags:
    sys.exit(3)
print(f"TASKS {len(bag.dags[sys.argv[2]].tasks)}")
"""


# dbt's own log goes to its log file; the check prints its own summary.
QUIET = ["--log-level", "none"]


@dataclasses.dataclass
class ModelRows:
    name: str
    schema: str
    changed: bool
    before: int | None = None
    after: int | None = None
    status: str = "not built"


def load(settings: Settings, name: str) -> PipelineConfig:
    """The validated config, or PipelineError after printing every schema error."""
    layout = PipelineLayout(settings.repo_root, name)
    if not layout.config.exists():
        raise PipelineError(
            f"no pipeline config {layout.relative(layout.config)}: `make pipeline-new NAME={name}` scaffolds one"
        )
    try:
        return load_config(layout.config)
    except PipelineConfigError as error:
        for line in error.errors:
            print(f"  {line}")
        raise PipelineError(
            f"{layout.relative(layout.config)} has {len(error.errors)} error(s), listed above: fix them and run "
            f"`make pipeline-check NAME={name}` again"
        ) from None


def check_source(config: PipelineConfig) -> str:
    """A local source must hold files the config's pattern matches (a URL is the live source's business)."""
    location = source_location(config)
    if "://" in location and not location.startswith("file://"):
        return location
    folder = Path(location.removeprefix("file://"))
    pattern = re.sub(r"(%.)+", "*", config.file_pattern)
    if not folder.is_dir() or not any(folder.glob(pattern)):
        setting = f" or set {config.location_setting} to a source" if config.location_setting else ""
        raise PipelineError(
            f"no sample data: {folder} has no file matching {config.file_pattern!r}; restore it "
            f"(git checkout -- {config.location}){setting}"
        )
    return str(folder)


def start_dag_import(settings: Settings, name: str) -> subprocess.Popen:
    env = embedded_env(settings)
    ensure_metadata_db(env)
    dag_file = PipelineLayout(settings.repo_root, name).dag
    return subprocess.Popen(
        [sys.executable, "-c", _IMPORT_DAG, str(dag_file), name],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_dag_import(process: subprocess.Popen, name: str) -> int:
    output, errors = process.communicate()
    lines = output.strip().splitlines()
    found = [line.split(" ", 1)[1] for line in lines if line.startswith(("IMPORT-ERROR ", "TASKS "))]
    if process.returncode != 0:
        why = " | ".join(found) or (errors.strip().splitlines() or ["no output"])[-1]
        raise PipelineError(f"DAG {name} does not import: {why}; fix dags/{name}.py or its config")
    return int(found[-1])


def report_dag_import(importer: subprocess.Popen, name: str) -> None:
    print(f"  DAG       {name} imports ({finish_dag_import(importer, name)} tasks)", flush=True)


def changed_models(settings: Settings, tag: str) -> tuple[list[str], str]:
    """Models of the pipeline that differ from the deployed manifest (all of them when nothing was deployed)."""
    state = deployed_state_dir(settings)
    if (state / "manifest.json").exists():
        selector, where = [f"state:modified,tag:{tag}", "--state", str(state)], str(state / "manifest.json")
    else:
        selector, where = [f"tag:{tag}"], "none deployed yet: every model of the pipeline counts as changed"
    args = ["ls", *QUIET, "--resource-type", "model", "--output", "name", "--select", *selector]
    result = invoke_dbt(settings, args)
    return sorted(result.result or []), where


def downstream(settings: Settings, models: list[str]) -> list[str]:
    selection = [f"{m}+" for m in models]
    result = invoke_dbt(
        settings, ["ls", *QUIET, "--resource-type", "model", "--output", "name", "--select", *selection]
    )
    return sorted(result.result or [])


def model_schemas(settings: Settings, names: list[str]) -> dict[str, str]:
    """Model name -> schema, from the layer folder the model file sits in (generate_schema_name keeps it)."""
    found = {}
    for layer in LAYERS:
        for path in (settings.dbt_project_dir / "models" / layer).rglob("*.sql"):
            if path.stem in names:
                found[path.stem] = layer
    return found


@contextmanager
def scratch_warehouse(settings: Settings, name: str) -> Iterator[Settings]:
    """Settings of a throwaway copy of the warehouse: a copy of the DuckDB file under the same file name (dbt
    names the database after it), or a Postgres database made from the warehouse as template; removed after."""
    if settings.warehouse == "duckdb":
        folder = settings.data_dir / "check" / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        copy = folder / settings.duckdb_path.name
        if settings.duckdb_path.exists():
            shutil.copyfile(settings.duckdb_path, copy)
        try:
            yield dataclasses.replace(settings, duckdb_path=copy)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    scratch = f"{settings.warehouse_db}_check_{name}"[:63]
    _postgres_admin(settings, f'drop database if exists "{scratch}"')
    _postgres_admin(settings, f'create database "{scratch}" template "{settings.warehouse_db}"')
    try:
        yield dataclasses.replace(settings, warehouse_db=scratch)
    finally:
        _postgres_admin(settings, f'drop database if exists "{scratch}"')


def _postgres_admin(settings: Settings, sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password,
        dbname="postgres",
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    except psycopg2.errors.ObjectInUse as error:
        raise PipelineError(
            f"cannot copy database {settings.warehouse_db} for the check while other sessions use it "
            f"({str(error).strip().splitlines()[0]}): stop them (make local-down) and check again"
        ) from None
    finally:
        connection.close()


def count_rows(settings: Settings, rows: list[ModelRows], field: str) -> None:
    with connect(settings) as connection:
        for model in rows:
            exists = connection.table_exists(model.schema, model.name)
            value = (
                connection.scalar(f'select count(*) from "{model.schema}"."{model.name}"') if exists else None
            )
            setattr(model, field, None if value is None else int(value))


def ensure_raw_table(settings: Settings, config: PipelineConfig) -> None:
    """The raw table exists before the first run only on paper: the scratch copy gets it, empty."""
    with connect(settings) as connection:
        connection.execute(f"create schema if not exists {config.raw_table.split('.')[0]}")
        connection.execute(config.raw_ddl)


def build(scratch: Settings, name: str, models: list[str], rows: list[ModelRows]) -> list[str]:
    """dbt build of the models and their downstream on the scratch copy; returns the failed nodes."""
    selection = [f"{m}+" for m in models]
    result = invoke_dbt(
        scratch, ["build", *QUIET, "--select", *selection], target=f"check-{name}", check=False
    )
    by_name = {model.name: model for model in rows}
    failed = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(node_result.status)
        if node_result.node.name in by_name:
            by_name[node_result.node.name].status = status
        if status in ("error", "fail"):
            failed.append(f"{node_result.node.name} ({status})")
    if not result.success and not failed:
        failed.append(str(result.exception or "dbt build failed"))
    return failed


def format_rows(rows: list[ModelRows]) -> list[str]:
    width = max([len(f"{m.schema}.{m.name}") for m in rows] + [5])
    lines = [f"  {'model':<{width}}  {'before':>8}  {'after':>8}  {'':<10}  build"]
    for model in rows:
        before = "-" if model.before is None else str(model.before)
        after = "-" if model.after is None else str(model.after)
        role = "changed" if model.changed else "downstream"
        lines.append(
            f"  {model.schema + '.' + model.name:<{width}}  {before:>8}  {after:>8}  {role:<10}  {model.status}"
        )
    return lines


def check(settings: Settings, name: str) -> int:
    started = time.perf_counter()
    print(f"[de-sandbox] pipeline-check {name} ({settings.warehouse})", flush=True)
    config = load(settings, name)
    print(
        f"  config    {PipelineLayout(settings.repo_root, name).relative(config.path)} is valid", flush=True
    )
    print(f"  source    {check_source(config)}", flush=True)
    try:
        manifest = ensure_manifest(settings, dbt_executable())
    except DbtProjectError as error:
        raise PipelineError(
            f"dbt cannot parse the project: {str(error).splitlines()[-1]}; fix the model named there"
        ) from None
    print(f"  dbt parse ok ({manifest})", flush=True)
    # The DAG renders from that manifest; its import (Airflow, Cosmos) runs beside the dbt work below.
    importer = start_dag_import(settings, name)
    tag = config.dbt_tag or name
    changed, where = changed_models(settings, tag)
    print(f"  state     {len(changed)} changed model(s) of tag {tag} against {where}", flush=True)
    if not changed:
        report_dag_import(importer, name)
        seconds = time.perf_counter() - started
        print(
            f"[de-sandbox] nothing of {name} changed since the last deployed run; checked in {seconds:.1f} s"
        )
        return 0
    selected = downstream(settings, changed)
    schemas = model_schemas(settings, selected)
    rows = [ModelRows(model, schemas.get(model, "main"), model in changed) for model in selected]
    rows.sort(key=lambda m: (LAYERS.index(m.schema) if m.schema in LAYERS else len(LAYERS), m.name))
    with scratch_warehouse(settings, name) as scratch:
        ensure_raw_table(scratch, config)
        count_rows(scratch, rows, "before")
        failed = build(scratch, name, changed, rows)
        count_rows(scratch, rows, "after")
    report_dag_import(importer, name)
    downstream_count = len(selected) - len(changed)
    print(
        f"  build     {len(changed)} changed and {downstream_count} downstream model(s) on a scratch warehouse copy:"
    )
    print("\n".join(format_rows(rows)))
    seconds = time.perf_counter() - started
    if failed:
        logs = artifacts_dir(settings) / "logs"
        raise PipelineError(
            f"check of {name} failed on the scratch copy: {', '.join(failed)}; dbt's log is in {logs}"
        )
    print(f"[de-sandbox] check of {name} passed in {seconds:.1f} s; the warehouse itself was not written")
    return 0
