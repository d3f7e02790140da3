"""Connections to the warehouse (DuckDB file or PostgreSQL), opened briefly and closed: DuckDB has one writer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from de_sandbox.settings import Settings


def release_dbt_duckdb(*_: Any, **__: Any) -> None:
    """Close the DuckDB file dbt-duckdb keeps open in-process after a dbtRunner call.

    Cosmos runs dbt in-process (DBT_RUNNER); without this the worker process would keep the file locked
    and every other process (GX, ingestion, a second DAG) would fail to open it. Safe to call any time.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


@contextmanager
def duckdb_connection(settings: Settings, read_only: bool = False) -> Iterator[Any]:
    import duckdb

    release_dbt_duckdb()
    if read_only and not settings.duckdb_path.exists():
        raise FileNotFoundError(
            f"DuckDB warehouse {settings.duckdb_path} does not exist yet: run a pipeline first"
        )
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(settings.duckdb_path), read_only=read_only)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def postgres_connection(settings: Settings) -> Iterator[Any]:
    import psycopg2

    conn = psycopg2.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password,
        dbname=settings.warehouse_db,
    )
    try:
        with conn:
            yield conn
    finally:
        conn.close()
