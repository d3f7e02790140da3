"""The life of a pipeline on a fresh clone, through `make` only: new -> check -> run green with rows in the mart ->
edit one model -> check shows it and its downstream -> remove, after which git status is as before and nothing
of the pipeline is left in the warehouse, the buckets or Airflow's metadata. Both templates side by side on
PostgreSQL (one warehouse set-up, and proof that two pipelines never clash); the `files` one on DuckDB too, for
DuckDB's own paths (the check's copy of the warehouse file, removal from it). The templates differ only in their
source and models, which both warehouses build the same way."""

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


def round_trip(clone, templates: list[str], warehouse: str, timings: dict[str, float]) -> None:
    """The round trip of one pipeline per template, side by side: each step runs for every pipeline before the
    next step starts, so several templates share one warehouse set-up and prove that pipelines never clash."""
    names = {template: f"rt_{template.replace('-', '_')}_{warehouse}" for template in templates}
    models = {t: [m.format(n=name) for m in MODELS[t]] for t, name in names.items()}
    mart_rows: dict[str, int] = {}
    before = clone.git_status()

    def timed(step: str, template: str, *args: str):
        started = time.perf_counter()
        result = clone.make(*args)
        timings[f"{step} {template}"] = round(time.perf_counter() - started, 1)
        return result

    for template, name in names.items():
        out = _ok(
            timed("new", template, "pipeline-new", f"NAME={name}", f"TEMPLATE={template}"), "pipeline-new"
        )
        assert f"pipelines/{name}.yml" in out and f"make run DAG={name}" in out
        assert f"dbt/models/marts/{name}/fct_{name}__hourly.sql" in out

    for template, name in names.items():
        out = _ok(timed("check_new", template, "pipeline-check", f"NAME={name}"), "first pipeline-check")
        for model in models[template]:
            assert f".{model} " in out and "changed" in out.split(f".{model} ")[1].splitlines()[0], out
        others = [m for t in names if t != template for m in models[t]]
        assert not any(f".{model} " in out for model in others), f"the check of {name} built others:\n{out}"

    for template, name in names.items():
        out = _ok(timed("run", template, "run", f"DAG={name}", "DATE=2026-01-01T01:00"), "make run")
        assert f"== {name}: SUCCESS" in out
        (mart_rows[template],) = _query(
            clone, warehouse, f"select count(*) from marts.{models[template][2]}"
        )[0]
        assert mart_rows[template] > 0

    for template, name in names.items():
        _edit_intermediate(clone, template, name)
    for template, name in names.items():
        stg, intermediate, mart = models[template]
        out = _ok(
            timed("check_edit", template, "pipeline-check", f"NAME={name}"), "pipeline-check after the edit"
        )
        lines = {
            line.split()[0]: line
            for line in out.splitlines()
            if line.startswith("  ") and "." in line.split()[0]
        }
        assert f"staging.{stg}" not in lines, out
        assert "changed" in lines[f"intermediate.{intermediate}"], out
        assert "downstream" in lines[f"marts.{mart}"], out
        assert lines[f"marts.{mart}"].split()[1:3] == [str(mart_rows[template])] * 2, out
        # The check built on a copy: the real mart was not rebuilt by it.
        (mart_after_check,) = _query(clone, warehouse, f"select count(*) from marts.{mart}")[0]
        assert mart_after_check == mart_rows[template]

    store = _store(clone.env)
    store.ensure_buckets()
    for template, name in names.items():
        assert store.list_keys(store.archive_bucket, f"{name}/"), "the run archived its raw objects"
        out = _ok(
            timed("remove_dry", template, "pipeline-remove", f"NAME={name}"), "pipeline-remove (dry run)"
        )
        for item in (
            f"pipelines/{name}.yml",
            f"marts.{models[template][2]}",
            "ops.run_ledger",
            f"s3://{store.archive_bucket}/{name}/",
        ):
            assert item in out, out
        assert not any(other in out for other in names.values() if other != name), out
        assert (clone.root / "pipelines" / f"{name}.yml").exists()
        assert _relations(clone, warehouse, name), "the dry run changed nothing"

    for template, name in names.items():
        _ok(
            timed("remove", template, "pipeline-remove", f"NAME={name}", "CONFIRM=1"),
            "pipeline-remove CONFIRM=1",
        )
        assert name not in clone.git_status()
        assert _relations(clone, warehouse, name) == []
        for table in ("ops.run_ledger", "ops.quarantine"):
            assert _query(clone, warehouse, f"select count(*) from {table} where pipeline = ?", (name,)) == [
                (0,)
            ]
        for bucket in (store.raw_bucket, store.archive_bucket):
            assert store.list_keys(bucket, f"{name}/") == []
        archived = store.list_keys(store.archive_bucket, f"removed/{name}/")
        assert any(key.endswith("run_ledger.csv") for key in archived), archived
        assert any(f"/{store.archive_bucket}/{name}/" in key for key in archived), archived
        assert _embedded_dag_rows(clone, name) == 0
    assert clone.git_status() == before


@pytest.mark.timeout(3600)
def test_round_trip_on_duckdb(clone, record_property):
    timings: dict[str, float] = {}
    round_trip(clone, ["files"], "duckdb", timings)
    record_property("timings", timings)
    print(f"timings files duckdb: {timings}")


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
        round_trip(clone, list(MODELS), "postgres", timings)
    finally:
        clone.env = env
    record_property("timings", timings)
    print(f"timings files and http-json side by side on postgres: {timings}")
