"""`make pipeline-list`: every pipeline config with its schedule, and from the warehouse (read only) its last
window, that window's last status and its row counts; a warehouse that does not exist yet means "never run"."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from de_sandbox.ingestion import ledger
from de_sandbox.ingestion.config import PipelineConfigError, config_path, load_config, pipeline_names
from de_sandbox.settings import Settings, get_settings, pipelines_dir
from de_sandbox.warehouse import WarehouseConnection, duckdb_connection, postgres_connection

NEVER_RUN = "never run"
_LEDGER_FIELDS = "phase, status, rows_source, rows_stage, rows_quarantined, rows_target"


@dataclass
class PipelineStatus:
    name: str
    schedule: str
    last_window: datetime | None = None
    status: str = "-"
    raw_rows: int | None = None
    rows_source: int | None = None
    rows_loaded: int | None = None
    rows_quarantined: int | None = None
    rows_target: int | None = None
    errors: tuple[str, ...] = ()


@contextmanager
def _read_only(settings: Settings) -> Iterator[WarehouseConnection]:
    if settings.warehouse == "postgres":
        with postgres_connection(settings, connect_timeout=5) as raw:
            yield WarehouseConnection(raw, "postgres")
        return
    with duckdb_connection(settings, read_only=True) as raw:
        yield WarehouseConnection(raw, "duckdb")


def _fill(connection: WarehouseConnection, status: PipelineStatus, raw_table: str | None) -> None:
    """The pipeline's latest window in the ledger: its newest phase's status, its load's and audit's counts."""
    if raw_table and connection.table_exists(*raw_table.split(".", 1)):
        status.raw_rows = int(connection.scalar(f"select count(*) from {raw_table}"))
    if not connection.table_exists("ops", "run_ledger"):
        return
    latest = connection.execute(
        f"select max(window_start) from {ledger.LEDGER_TABLE} where pipeline = ?", (status.name,)
    )
    if not latest or latest[0][0] is None:
        return
    status.last_window = latest[0][0]
    rows = connection.execute(
        f"select {_LEDGER_FIELDS} from {ledger.LEDGER_TABLE} where pipeline = ? and window_start = ?"
        " order by started_at desc, attempt desc",
        (status.name, status.last_window),
    )
    phase, state = rows[0][0], rows[0][1]
    status.status = f"{state} ({phase})"
    for phase, state, source, stage, quarantined, target in rows:
        if phase == "load" and state == ledger.SUCCESS and status.rows_loaded is None:
            status.rows_source, status.rows_loaded, status.rows_quarantined = source, stage, quarantined
        if phase == "audit" and state == ledger.SUCCESS and status.rows_target is None:
            status.rows_target = target


def pipeline_statuses(settings: Settings | None = None) -> tuple[list[PipelineStatus], str]:
    """One status per pipeline config, and a line saying what the warehouse told (or why it could not)."""
    settings = settings or get_settings()
    statuses, raw_tables = [], {}
    for name in pipeline_names():
        try:
            config = load_config(config_path(name))
        except PipelineConfigError as error:
            invalid = f"invalid config ({len(error.errors)} error(s))"
            statuses.append(PipelineStatus(name, "-", status=invalid, errors=tuple(error.errors)))
            continue
        statuses.append(PipelineStatus(name, f"{config.cron} {config.timezone}"))
        raw_tables[name] = config.raw_table
    where = (
        f"postgres {settings.warehouse_db}" if settings.warehouse == "postgres" else str(settings.duckdb_path)
    )
    try:
        with _read_only(settings) as connection:
            for status in statuses:
                _fill(connection, status, raw_tables.get(status.name) or f"raw.{status.name}")
    except FileNotFoundError:
        return statuses, f"warehouse: {where} does not exist yet: no pipeline has run"
    except Exception as error:  # noqa: BLE001 - any warehouse failure leaves the configs listed
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return statuses, f"warehouse: {where} could not be read ({first_line}): run states unknown"
    return statuses, f"warehouse: {where}"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def format_table(statuses: list[PipelineStatus]) -> str:
    header = (
        "PIPELINE",
        "SCHEDULE",
        "LAST WINDOW (UTC)",
        "LAST STATUS",
        "RAW ROWS",
        "LAST LOAD src/loaded/quar",
        "TARGET",
    )
    rows = [header]
    for s in statuses:
        never = s.last_window is None and not s.status.startswith("invalid")
        rows.append(
            (
                s.name,
                s.schedule,
                f"{s.last_window:%Y-%m-%d %H:%M}" if s.last_window else (NEVER_RUN if never else "-"),
                s.status,
                _count(s.raw_rows),
                "-"
                if s.rows_loaded is None
                else f"{_count(s.rows_source)}/{_count(s.rows_loaded)}/{_count(s.rows_quarantined)}",
                _count(s.rows_target),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows)


def list_pipelines(args: argparse.Namespace) -> int:
    statuses, note = pipeline_statuses()
    if not statuses:
        print(f"[de-sandbox] no pipeline configs in {pipelines_dir()} (add one: pipelines/<name>.yml)")
        return 0
    print(format_table(statuses))
    print(f"\n{note}")
    for status in statuses:
        if status.errors:
            print(f"\n{config_path(status.name)}:", *status.errors, sep="\n  ")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pipeline-list", help="every pipeline: schedule, last window, last status and row counts"
    )
    parser.set_defaults(func=list_pipelines)
