"""Read-only access to the configured warehouse for the portal: its catalog, a page of a table, ledger reads.

Names are only ever taken from the warehouse's own catalog (anything else is `NotFound`), values are bound
parameters, every query runs under a time limit, and a DuckDB file is opened read-only and closed at once so
the portal never holds the one writer lock a running task needs; a file held by a task is `WarehouseBusy`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from de_sandbox.settings import Settings
from de_sandbox.warehouse import WarehouseConnection, listed_tables_filter, postgres_connection

MAX_PAGE_ROWS = 1000
QUERY_TIMEOUT_S = 10.0
# Below this estimate a Postgres table is counted exactly; above it the planner's estimate is shown.
EXACT_COUNT_BELOW = 200_000
SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast")


class NotFound(LookupError):
    """A schema or table the warehouse's catalog does not know."""


class QueryTimeout(RuntimeError):
    """A portal query ran past its time limit and was cancelled."""


class WarehouseBusy(RuntimeError):
    """The DuckDB file is locked by another process (a running task); `holder` says which, when knowable."""

    def __init__(self, path: Path, holder: str | None) -> None:
        self.holder = holder
        super().__init__(
            f"the warehouse {path.name} is busy: another process writes to it"
            + (f" ({holder})" if holder else "")
            + "; try again when the task has finished"
        )


@dataclass(frozen=True)
class TableInfo:
    schema: str
    name: str
    kind: str
    rows: int | None


_LOCK_PID = re.compile(r"\(PID (\d+)\)")


def lock_holder(message: str) -> str | None:
    """The process named in DuckDB's lock error: its pid and command line (an Airflow task names itself)."""
    match = _LOCK_PID.search(message)
    if not match:
        return None
    pid = match.group(1)
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return f"PID {pid}"
    return f"PID {pid}: {cmdline.strip()[:200]}"


@contextmanager
def _interrupt_after(seconds: float, interrupt: Any) -> Iterator[None]:
    timer = threading.Timer(seconds, interrupt)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class _InterruptibleDuckDB:
    """Hands WarehouseConnection the connection itself as its cursor: DuckDB's `cursor()` is a second
    connection, which `interrupt()` on the first would not stop."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def cursor(self) -> _InterruptibleDuckDB:
        return self

    def execute(self, sql: str, params: tuple = ()) -> Any:
        return self.raw.execute(sql, params)

    @property
    def description(self) -> Any:
        return self.raw.description

    def fetchall(self) -> list[tuple]:
        return self.raw.fetchall()

    def close(self) -> None:
        """The connection is closed once, by `read_only`."""


@contextmanager
def read_only(settings: Settings, timeout: float = QUERY_TIMEOUT_S) -> Iterator[WarehouseConnection]:
    """The warehouse opened read-only for one short unit of work, with a time limit on every statement."""
    if settings.warehouse == "postgres":
        from psycopg2.errors import QueryCanceled

        with postgres_connection(settings) as raw:
            with raw.cursor() as cursor:
                cursor.execute("set transaction read only")
                cursor.execute(
                    "select set_config('statement_timeout', %s, true)", (str(int(timeout * 1000)),)
                )
            try:
                yield WarehouseConnection(raw, "postgres")
            except QueryCanceled:
                raise QueryTimeout(f"the query took longer than {timeout:g} s and was cancelled") from None
        return
    import duckdb

    if not settings.duckdb_path.exists():
        raise NotFound(f"the DuckDB warehouse {settings.duckdb_path.name} does not exist yet: run a pipeline")
    try:
        raw = duckdb.connect(str(settings.duckdb_path), read_only=True)
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise WarehouseBusy(settings.duckdb_path, lock_holder(str(error))) from None
        raise
    try:
        # A long query would otherwise draw a progress bar into the api-server's log.
        raw.execute("pragma disable_progress_bar")
        with _interrupt_after(timeout, raw.interrupt):
            yield WarehouseConnection(_InterruptibleDuckDB(raw), "duckdb")
    except duckdb.InterruptException:
        raise QueryTimeout(f"the query took longer than {timeout:g} s and was cancelled") from None
    finally:
        raw.close()


def list_tables(connection: WarehouseConnection) -> list[TableInfo]:
    """Every user table and view with its kind and row count (exact on DuckDB and small Postgres tables)."""
    found = connection.execute(
        "select table_schema, table_name, table_type from information_schema.tables"
        f" where table_schema not in ({', '.join('?' for _ in SYSTEM_SCHEMAS)})"
        f"{listed_tables_filter(connection.kind)}"
        " order by table_schema, table_name",
        SYSTEM_SCHEMAS,
    )
    tables = []
    for schema, name, table_type in found:
        kind = "view" if "VIEW" in table_type.upper() else "table"
        rows = row_count(connection, schema, name) if kind == "table" else None
        tables.append(TableInfo(schema, name, kind, rows))
    return tables


def row_count(connection: WarehouseConnection, schema: str, name: str) -> int:
    """count(*) (DuckDB answers it from metadata); a large Postgres table gives the planner's estimate."""
    if connection.kind == "postgres":
        estimate = estimated_rows(connection, schema, name)
        if estimate is not None and estimate >= EXACT_COUNT_BELOW:
            return estimate
    return int(connection.scalar(f"select count(*) from {quote(schema)}.{quote(name)}"))


def estimated_rows(connection: WarehouseConnection, schema: str, name: str) -> int | None:
    """PostgreSQL's estimate of a table's rows (-1: never analyzed); for a table partitioned by window, the
    sum of its partitions' estimates, each made by the load that filled it."""
    estimate = connection.scalar(
        "select case when c.relkind = 'p' then (select coalesce(sum(greatest(p.reltuples, 0)), 0) from pg_inherits i"
        " join pg_class p on p.oid = i.inhrelid where i.inhparent = c.oid) else c.reltuples end::bigint"
        " from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? and c.relname = ?",
        (schema, name),
    )
    return None if estimate is None else int(estimate)


def quote(identifier: str) -> str:
    """A double-quoted identifier; only ever applied to names read back from the catalog."""
    return '"' + identifier.replace('"', '""') + '"'


def find_table(connection: WarehouseConnection, schema: str, name: str) -> TableInfo:
    """The catalog's entry for schema.name, or NotFound naming what is missing."""
    kinds = connection.execute(
        "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
        (schema, name),
    )
    if not kinds:
        schemas = {
            row[0] for row in connection.execute("select schema_name from information_schema.schemata")
        }
        if schema not in schemas:
            raise NotFound(f"no schema named {schema!r} in the warehouse")
        raise NotFound(f"no table or view named {name!r} in schema {schema!r}")
    return TableInfo(schema, name, "view" if "VIEW" in kinds[0][0].upper() else "table", None)


def columns(connection: WarehouseConnection, schema: str, name: str) -> list[dict[str, str]]:
    found = connection.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = ? and table_name = ? order by ordinal_position",
        (schema, name),
    )
    return [{"name": column, "type": str(data_type)} for column, data_type in found]


def clamp_limit(limit: int | None) -> int:
    return max(1, min(int(limit or 100), MAX_PAGE_ROWS))


def table_page(
    connection: WarehouseConnection, schema: str, name: str, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """Columns, one page of rows (LIMIT/OFFSET, at most MAX_PAGE_ROWS) and the table's total row count."""
    table = find_table(connection, schema, name)
    relation = f"{quote(table.schema)}.{quote(table.name)}"
    _, rows = connection.query(
        f"select * from {relation} limit ? offset ?", (clamp_limit(limit), max(0, int(offset)))
    )
    total = (
        row_count(connection, schema, name)
        if table.kind == "table"
        else connection.scalar(f"select count(*) from {relation}")
    )
    return {
        "columns": columns(connection, schema, name),
        "rows": [[json_value(value) for value in row] for row in rows],
        "total_rows": int(total),
    }


def json_value(value: Any) -> Any:
    """A cell as JSON: numbers, strings, booleans and null stay, everything else becomes its text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
