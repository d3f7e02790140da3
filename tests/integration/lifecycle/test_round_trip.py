"""The life of a pipeline on a fresh clone, through `make` only: new -> check -> run green with rows in the mart ->
edit one model -> check shows it and its downstream -> remove, after which git status is as before and nothing
of the pipeline is left in the warehouse, the buckets or Airflow's metadata. Both templates on DuckDB, one on
PostgreSQL."""

from __future__ import annotations

import sqlite3
import time

import pytest

from de_sandbox.ingestion.objectstore import ObjectStore
from de_sandbox.settings import IngestionSettings, get_ingestion_settings, overridden_env

pytestmark = pytest.mark.integration

MODELS = {
    "files": ("stg_{n}__events", "int_{n}__events", "fct_{n}__hourly"),
    "http-json": ("stg_{n}__readings", "int_{n}__readings", "fct_{n}__hourly"),
}


def _store(env: dict[str, str]) -> ObjectStore:
    names = ("MINIO_ENDPOINT", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "S3_BUCKET_RAW", "S3_BUCKET_ARCHIVE")
    with overridden_env(**{name: env[name] for name in names}):
        settings: IngestionSettings = get_ingestion_settings()
    return ObjectStore(settings)


def _query(clone, warehouse: str, sql: str, params: tuple = ()) -> list[tuple]:
    """Read the clone's warehouse from the test process (DuckDB read-only between commands)."""
    if warehouse == "duckdb":
        import duckdb

        with duckdb.connect(clone.env["DUCKDB_PATH"], read_only=True) as connection:
            return connection.execute(sql, params).fetchall()
    import psycopg2

    env = clone.env
    connection = psycopg2.connect(
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        dbname=env["WAREHOUSE_DB"],
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall()
    finally:
        connection.close()


def _relations(clone, warehouse: str, name: str) -> list[tuple]:
    return _query(
        clone,
        warehouse,
        "select table_schema, table_name from information_schema.tables where table_name like ?",
        (f"%{name}%",),
    )


def _edit_intermediate(clone, template: str, name: str) -> None:
    """One changed model: the intermediate one coalesces a number (SQL both warehouses take; the mart downstream
    must rebuild)."""
    folder = clone.root / "dbt" / "models" / "intermediate" / name
    model = folder / f"{MODELS[template][1].format(n=name)}.sql"
    column = "amount" if template == "files" else "reading"
    text = model.read_text()
    assert f"        {column}\n" in text
    model.write_text(text.replace(f"        {column}\n", f"        coalesce({column}, 0) as {column}\n"))


def _embedded_dag_rows(clone, name: str) -> int:
    db = clone.root / "data" / "airflow-embedded" / "airflow.db"
    with sqlite3.connect(db) as connection:
        return sum(
            connection.execute(f"select count(*) from {table} where dag_id = ?", (name,)).fetchone()[0]
            for table in ("dag", "dag_run", "task_instance")
        )


def _ok(result, what: str) -> str:
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def round_trip(clone, template: str, warehouse: str, timings: dict[str, float]) -> None:
    name = f"rt_{template.replace('-', '_')}_{warehouse}"
    models = [m.format(n=name) for m in MODELS[template]]
    before = clone.git_status()

    def timed(step: str, *args: str):
        started = time.perf_counter()
        result = clone.make(*args)
        timings[step] = round(time.perf_counter() - started, 1)
        return result

    out = _ok(timed("new", "pipeline-new", f"NAME={name}", f"TEMPLATE={template}"), "pipeline-new")
    assert f"pipelines/{name}.yml" in out and f"make run DAG={name}" in out
    assert f"dbt/models/marts/{name}/fct_{name}__hourly.sql" in out

    out = _ok(timed("check_new", "pipeline-check", f"NAME={name}"), "first pipeline-check")
    for model in models:
        assert f".{model} " in out and "changed" in out.split(f".{model} ")[1].splitlines()[0], out

    out = _ok(timed("run", "run", f"DAG={name}", "DATE=2026-01-01T01:00"), "make run")
    assert f"== {name}: SUCCESS" in out
    (mart_rows,) = _query(clone, warehouse, f"select count(*) from marts.{models[2]}")[0]
    assert mart_rows > 0

    _edit_intermediate(clone, template, name)
    out = _ok(timed("check_edit", "pipeline-check", f"NAME={name}"), "pipeline-check after the edit")
    lines = {
        line.split()[0]: line for line in out.splitlines() if line.startswith("  ") and "." in line.split()[0]
    }
    assert f"staging.{models[0]}" not in lines, out
    assert "changed" in lines[f"intermediate.{models[1]}"], out
    assert "downstream" in lines[f"marts.{models[2]}"], out
    assert lines[f"marts.{models[2]}"].split()[1:3] == [str(mart_rows), str(mart_rows)], out
    # The check built on a copy: the real mart was not rebuilt by it.
    (mart_after_check,) = _query(clone, warehouse, f"select count(*) from marts.{models[2]}")[0]
    assert mart_after_check == mart_rows

    store = _store(clone.env)
    store.ensure_buckets()
    assert store.list_keys(store.archive_bucket, f"{name}/"), "the run archived its raw objects"
    out = _ok(timed("remove_dry", "pipeline-remove", f"NAME={name}"), "pipeline-remove (dry run)")
    for item in (
        f"pipelines/{name}.yml",
        f"marts.{models[2]}",
        "ops.run_ledger",
        f"s3://{store.archive_bucket}/{name}/",
    ):
        assert item in out, out
    assert (clone.root / "pipelines" / f"{name}.yml").exists()
    assert _relations(clone, warehouse, name), "the dry run changed nothing"

    out = _ok(timed("remove", "pipeline-remove", f"NAME={name}", "CONFIRM=1"), "pipeline-remove CONFIRM=1")
    assert clone.git_status() == before
    assert _relations(clone, warehouse, name) == []
    for table in ("ops.run_ledger", "ops.quarantine"):
        assert _query(clone, warehouse, f"select count(*) from {table} where pipeline = ?", (name,)) == [(0,)]
    for bucket in (store.raw_bucket, store.archive_bucket):
        assert store.list_keys(bucket, f"{name}/") == []
    archived = store.list_keys(store.archive_bucket, f"removed/{name}/")
    assert any(key.endswith("run_ledger.csv") for key in archived), archived
    assert any(f"/{store.archive_bucket}/{name}/" in key for key in archived), archived
    assert _embedded_dag_rows(clone, name) == 0


@pytest.mark.timeout(3600)
@pytest.mark.parametrize("template", ["files", "http-json"])
def test_round_trip_on_duckdb(clone, template, record_property):
    timings: dict[str, float] = {}
    round_trip(clone, template, "duckdb", timings)
    record_property("timings", timings)
    print(f"timings {template} duckdb: {timings}")


ROUND_TRIP_DB = "lifecycle_round_trip"


@pytest.mark.timeout(3600)
def test_round_trip_on_postgres(clone, postgres_server, record_property):
    # A warehouse database of its own: pipeline-check copies it with `create database ... template`, which PostgreSQL
    # refuses while any other session is connected to it (the session server's `warehouse` has other tests' ones).
    admin = postgres_server.connect("postgres")
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"drop database if exists {ROUND_TRIP_DB}")
            cursor.execute(f"create database {ROUND_TRIP_DB}")
    finally:
        admin.close()
    env = dict(clone.env)
    clone.env = {**env, **postgres_server.env(), "WAREHOUSE": "postgres", "WAREHOUSE_DB": ROUND_TRIP_DB}
    timings: dict[str, float] = {}
    try:
        round_trip(clone, "http-json", "postgres", timings)
    finally:
        clone.env = env
    record_property("timings", timings)
    print(f"timings http-json postgres: {timings}")
