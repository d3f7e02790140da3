"""One connection API over both warehouses (DuckDB file, PostgreSQL database), opened briefly and closed.

SQL is written once with `?` placeholders and ANSI types; DuckDB allows one writer process, so every caller
opens a connection, does its work in one transaction and closes it again.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from de_sandbox.settings import Settings, get_settings

log = logging.getLogger(__name__)

# The PostgreSQL advisory lock that serialises creating the package's own schemas and tables.
CREATE_LOCK_KEY = 7_146_000_001
# PostgreSQL cuts longer identifiers: a partition's name must stay within it to stay distinct.
MAX_IDENTIFIER = 63
# On PostgreSQL, the catalog listings leave out a partitioned table's partitions (they show as the table).
NOT_A_PARTITION = (
    " and not exists (select 1 from pg_catalog.pg_class c join pg_catalog.pg_namespace n"
    " on n.oid = c.relnamespace where n.nspname = table_schema and c.relname = table_name and c.relispartition)"
)


def listed_tables_filter(kind: str) -> str:
    """The condition an `information_schema.tables` listing appends to show each table once."""
    return NOT_A_PARTITION if kind == "postgres" else ""


def window_partition(table: str, window: datetime) -> str:
    """`schema.name` of the PostgreSQL partition holding one window of a windowed table."""
    schema, name = table.split(".")
    suffix = f"__w{window:%Y%m%d%H%M%S}"
    if len(name) + len(suffix) > MAX_IDENTIFIER:
        digest = hashlib.md5(name.encode()).hexdigest()[:8]
        name = f"{name[: MAX_IDENTIFIER - len(suffix) - len(digest) - 1]}_{digest}"
    return f"{schema}.{name}{suffix}"


def release_dbt_duckdb(*_: Any, **__: Any) -> None:
    """Close the DuckDB file dbt-duckdb keeps open in-process after a dbtRunner call.

    Cosmos runs dbt in-process (DBT_RUNNER); without this the worker process would keep the file locked
    and every other process (GX, ingestion, a second DAG) would fail to open it. Safe to call any time. A process
    that never loaded dbt-duckdb holds no such file and does not import it here: that import (1.1-1.5 s) was most of
    the gap between a 6M-line hour's load in its own process and in a warm one.
    """
    connections = sys.modules.get("dbt.adapters.duckdb.connections")
    if connections is None:
        return
    DuckDBConnectionManager = connections.DuckDBConnectionManager  # noqa: N806 (dbt-duckdb's class)
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def duckdb_writer_lock_path(settings: Settings) -> Path:
    """The file whose lock a DuckDB writer outside the `duckdb` pool holds while it writes."""
    return settings.duckdb_path.with_name(settings.duckdb_path.name + ".writer.lock")


@contextmanager
def duckdb_writer_lock(settings: Settings) -> Iterator[None]:
    """Hold the DuckDB file's writer lock (an OS file lock, across processes and Celery workers on this host);
    waits, saying so once, while another writer holds it. For writers the one-slot pool cannot queue: WATCHER
    consumers that fall back to their own dbt run when the producer died."""
    path = duckdb_writer_lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info(
                "waiting for the DuckDB writer lock %s (another dbt run writes %s)",
                path,
                settings.duckdb_path,
            )
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
    conn.execute(f"set memory_limit = '{settings.duckdb_memory_limit}'")
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def postgres_connection(
    settings: Settings, database: str | None = None, connect_timeout: int | None = None
) -> Iterator[Any]:
    """The warehouse database (or `database` on the same server), in one transaction, closed afterwards."""
    import psycopg2

    conn = psycopg2.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password,
        dbname=database or settings.warehouse_db,
        connect_timeout=connect_timeout,
    )
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def _insert_select(table: str, columns: Sequence[str], extra: dict[str, Any], source: str) -> str:
    """`insert into table` of `source`'s `columns` plus one `?` parameter per constant `extra` column."""
    constants = "".join(f", ? as {name}" for name in extra)
    return f"insert into {table} ({', '.join([*columns, *extra])}) select {', '.join(columns)}{constants} from {source}"


class WarehouseConnection:
    """A DB-API connection plus the few helpers both warehouses need in the same spelling."""

    def __init__(self, raw: Any, kind: str) -> None:
        self.raw = raw
        self.kind = kind

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.kind == "postgres" else sql

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple]]:
        """Column names and rows of a statement (none for a statement without a result)."""
        if self.kind == "duckdb":
            # A DuckDB cursor is a second connection, outside this connection's transaction.
            result = self.raw.execute(sql, tuple(params))
            if not result.description:
                return [], []
            return [column[0] for column in result.description], list(result.fetchall())
        cursor = self.raw.cursor()
        try:
            cursor.execute(self._sql(sql), tuple(params))
            if not cursor.description:
                return [], []
            return [column[0] for column in cursor.description], list(cursor.fetchall())
        finally:
            cursor.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.query(sql, params)[1]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self.execute(sql, params)
        return rows[0][0] if rows else None

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        if not rows:
            return 0
        column_list = ", ".join(columns)
        if self.kind == "postgres":
            from psycopg2.extras import execute_values

            cursor = self.raw.cursor()
            try:
                execute_values(cursor, f"insert into {table} ({column_list}) values %s", rows, page_size=1000)
            finally:
                cursor.close()
        else:
            # One statement, a list parameter per column: no pandas import, no statement per row.
            values = [list(column) for column in zip(*rows, strict=True)]
            unnested = ", ".join("unnest(?)" for _ in columns)
            self.raw.execute(f"insert into {table} ({column_list}) select {unnested}", values)
        return len(rows)

    def insert_relation(
        self, table: str, columns: Sequence[str], relation: str, extra: dict[str, Any]
    ) -> int:
        """DuckDB: insert a relation of this connection, plus constant `extra` columns, in this transaction."""
        (inserted,) = self.raw.execute(
            _insert_select(table, columns, extra, relation), tuple(extra.values())
        ).fetchone()
        return int(inserted)

    def copy_csv(
        self, table: str, columns: Sequence[str], path: Path, extra: dict[str, Any], fresh: bool = False
    ) -> int:
        """PostgreSQL: insert a headerless CSV file of `columns`, plus constant `extra` columns, in this
        transaction. Repeated in every CSV line, the constants made a 6M-line hour's CSV 948 MB instead of
        205 MB and its load half as fast again, so they come from elsewhere:
        - `fresh` (a table truncated or created in this transaction, which only it can see): the constants
          become the columns' defaults for the one `COPY ... FROM STDIN (freeze)` straight into the table.
          Frozen rows need no hint bits set, by the first scan after the load, nor a freeze by vacuum later.
        - otherwise through a temporary table (no WAL), then one `insert ... select` adds the constants."""
        own = ", ".join(columns)
        cursor = self.raw.cursor()
        try:
            if fresh:
                defaults = ", ".join(f"alter column {name} set default %s" for name in extra)
                cursor.execute(f"alter table {table} {defaults}", tuple(extra.values()))
                with path.open("rb") as rows:
                    cursor.copy_expert(
                        f"copy {table} ({own}) from stdin with (format csv, freeze true)", rows, 1 << 20
                    )
                inserted = cursor.rowcount
                cursor.execute(
                    f"alter table {table} {', '.join(f'alter column {name} drop default' for name in extra)}"
                )
                return int(inserted)
            staged = f"copy_{table.replace('.', '_')}"
            cursor.execute(
                f"create temporary table if not exists {staged} as select {own} from {table} limit 0"
            )
            with path.open("rb") as rows:
                cursor.copy_expert(f"copy {staged} ({own}) from stdin with (format csv)", rows, 1 << 20)
            cursor.execute(self._sql(_insert_select(table, columns, extra, staged)), tuple(extra.values()))
            inserted = cursor.rowcount
            cursor.execute(f"truncate {staged}")
            return int(inserted)
        finally:
            cursor.close()

    def create_missing(self, tables: Sequence[str], statements: Sequence[str]) -> None:
        """Run `create ... if not exists` statements unless every `schema.table` exists. On PostgreSQL the
        creators take turns: concurrent `if not exists` creations of one table race on the catalog (a unique
        violation, seen when a backfill's first loads start together), and the lock lasts until commit."""
        if self.kind == "postgres":
            if all(self.table_exists(*table.split(".")) for table in tables):
                return
            self.execute("select pg_advisory_xact_lock(?)", (CREATE_LOCK_KEY,))
        for statement in statements:
            self.execute(statement)

    def windowed_ddl(self, ddl: str, column: str) -> str:
        """A `create table` of a table every row of which belongs to one window (`column`). PostgreSQL lists
        it by window, one partition each: re-running a window truncates its partition, where deleting a 6M-line
        hour's rows took 7 s and left them dead in every scan until vacuum. DuckDB deletes cheaply."""
        return f"{ddl} partition by list ({column})" if self.kind == "postgres" else ddl

    def is_partitioned(self, table: str) -> bool:
        if self.kind != "postgres":
            return False
        schema, name = table.split(".")
        return bool(
            self.scalar(
                "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = ? and c.relname = ? and c.relkind = 'p'",
                (schema, name),
            )
        )

    def ensure_window_partition(self, table: str, window: datetime) -> str | None:
        """PostgreSQL, a table partitioned by window: its partition for `window`, created and attached if
        missing; None for any other table. Run it in a transaction of its own before writing the window:
        attaching takes a lock on the table (one that readers and writers pass) until commit."""
        if not self.is_partitioned(table):
            return None
        partition = window_partition(table, window)
        if self._is_partition_of(partition, table):
            return partition
        self.execute("select pg_advisory_xact_lock(?)", (CREATE_LOCK_KEY,))
        if not self._is_partition_of(partition, table):
            # create + attach, not `create table ... partition of`: that locks the table against its readers.
            self.execute(f"create table if not exists {partition} (like {table} including all)")
            self.execute(f"alter table {table} attach partition {partition} for values in (?)", (window,))
        return partition

    def _is_partition_of(self, partition: str, table: str) -> bool:
        return bool(
            self.scalar(
                "select count(*) from pg_inherits where inhrelid = to_regclass(?) and inhparent = to_regclass(?)",
                (partition, table),
            )
        )

    def clear_window(self, table: str, column: str, window: datetime) -> str:
        """Remove a window's rows in this transaction; returns the relation to write the window's rows to:
        its partition (truncated) where `ensure_window_partition` made one, else the table itself."""
        if self.kind == "postgres" and self.is_partitioned(table):
            partition = window_partition(table, window)
            if not self._is_partition_of(partition, table):
                raise RuntimeError(f"{table} has no partition for the window {window:%Y-%m-%d %H:%M:%S}")
            self.execute(f"truncate {partition}")
            return partition
        self.execute(f"delete from {table} where {column} = ?", (window,))
        return table

    def refresh_statistics(self, table: str) -> None:
        """PostgreSQL: ANALYZE a table whose rows just changed, in this transaction (DuckDB keeps its own up to
        date). Without it the planner took a new window outside the column's statistics for 1 row until
        autovacuum came by: a third 6M-line hour's dimension build, planned for that row, ran for over 18
        minutes instead of 20-28 s."""
        if self.kind == "postgres":
            self.execute(f"analyze {table}")

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                (schema, table),
            )
        )


@contextmanager
def connect(settings: Settings | None = None) -> Iterator[WarehouseConnection]:
    """Open the configured warehouse in one transaction: commit if the block succeeds, else roll back."""
    settings = settings or get_settings()
    if settings.warehouse == "postgres":
        with postgres_connection(settings) as raw:
            yield WarehouseConnection(raw, "postgres")
        return
    with duckdb_connection(settings) as raw:
        raw.execute("begin transaction")
        try:
            yield WarehouseConnection(raw, "duckdb")
        except BaseException:
            raw.rollback()
            raise
        raw.commit()
