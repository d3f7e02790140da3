"""One connection API over both warehouses (DuckDB file, PostgreSQL database) for loaders and the run ledger.

SQL is written once with `?` placeholders and ANSI types; DuckDB allows one writer process, so every caller
opens a connection, does its work in one transaction and closes it again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from de_sandbox.settings import Settings, get_settings
from de_sandbox.warehouse import duckdb_connection, postgres_connection


class WarehouseConnection:
    """A DB-API connection plus the few helpers both warehouses need in the same spelling."""

    def __init__(self, raw: Any, kind: str) -> None:
        self.raw = raw
        self.kind = kind

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.kind == "postgres" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        cursor = self.raw.cursor()
        try:
            cursor.execute(self._sql(sql), tuple(params))
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

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
            import pandas as pd

            frame = pd.DataFrame.from_records(list(rows), columns=list(columns))
            self.raw.register("_rows_to_insert", frame)
            try:
                self.raw.execute(
                    f"insert into {table} ({column_list}) select {column_list} from _rows_to_insert"
                )
            finally:
                self.raw.unregister("_rows_to_insert")
        return len(rows)

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
