"""Run ledger in the warehouse (`ops.run_ledger`): a row per pipeline, window, phase and attempt with counts
at source, stage and target, status, error and duration; plus detection of stale runs stuck in a phase."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from de_sandbox.warehouse import WarehouseConnection, connect

log = logging.getLogger(__name__)

LEDGER_TABLE = "ops.run_ledger"
QUARANTINE_TABLE = "ops.quarantine"

LEDGER_COLUMNS = (
    "pipeline",
    "window_start",
    "window_end",
    "phase",
    "attempt",
    "run_id",
    "status",
    "rows_source",
    "rows_stage",
    "rows_target",
    "rows_quarantined",
    "error",
    "started_at",
    "finished_at",
    "duration_seconds",
)

DDL = (
    "create schema if not exists ops",
    f"""create table if not exists {LEDGER_TABLE} (
        pipeline varchar(100) not null,
        window_start timestamp not null,
        window_end timestamp not null,
        phase varchar(50) not null,
        attempt integer not null,
        run_id varchar(250),
        status varchar(20) not null,
        rows_source bigint,
        rows_stage bigint,
        rows_target bigint,
        rows_quarantined bigint,
        error varchar(4000),
        started_at timestamp not null,
        finished_at timestamp,
        duration_seconds double precision
    )""",
    f"""create table if not exists {QUARANTINE_TABLE} (
        pipeline varchar(100) not null,
        window_start timestamp not null,
        source_file varchar(1000) not null,
        record_no integer,
        raw_record varchar(4000),
        reason varchar(1000) not null,
        quarantined_at timestamp not null
    )""",
)

RUNNING, SUCCESS, FAILED, STALE, SKIPPED = "running", "success", "failed", "stale", "skipped"


class SkipWindow(Exception):
    """Raised inside a phase when the window has nothing to process: the phase ends `skipped`, with the reason."""


def utcnow() -> datetime:
    """Naive UTC, the way both warehouses store `timestamp` columns."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def ensure_ops_schema(connection: WarehouseConnection) -> None:
    connection.create_missing((LEDGER_TABLE, QUARANTINE_TABLE), DDL)


@dataclass
class PhaseRecord:
    """What a phase reports back; the ledger writes it when the phase ends."""

    pipeline: str
    window_start: datetime
    window_end: datetime
    phase: str
    attempt: int
    run_id: str | None
    started_at: datetime
    rows_source: int | None = None
    rows_stage: int | None = None
    rows_target: int | None = None
    rows_quarantined: int | None = None
    notes: dict = field(default_factory=dict)


def _row_filter() -> str:
    return "pipeline = ? and window_start = ? and phase = ? and attempt = ?"


@contextmanager
def phase(
    pipeline: str, window_start: datetime, window_end: datetime, name: str, run_id: str | None = None
) -> Iterator[PhaseRecord]:
    """Record a phase of a window: a `running` row, then `success` with counts or `failed` with its error."""
    window_start, window_end = naive_utc(window_start), naive_utc(window_end)
    with connect() as connection:
        ensure_ops_schema(connection)
        attempt = 1 + connection.scalar(
            f"select count(*) from {LEDGER_TABLE} where pipeline = ? and window_start = ? and phase = ?",
            (pipeline, window_start, name),
        )
        record = PhaseRecord(pipeline, window_start, window_end, name, attempt, run_id, utcnow())
        # An earlier attempt still `running` ended without a word (its process killed, its database gone).
        connection.execute(
            f"update {LEDGER_TABLE} set status = ?, error = ? where pipeline = ? and window_start = ?"
            " and phase = ? and status = ?",
            (
                STALE,
                f"stale: superseded by attempt {attempt}; this attempt ended without recording how",
                pipeline,
                window_start,
                name,
                RUNNING,
            ),
        )
        connection.execute(
            f"insert into {LEDGER_TABLE} (pipeline, window_start, window_end, phase, attempt, run_id, status,"
            " started_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
            (pipeline, window_start, window_end, name, attempt, run_id, RUNNING, record.started_at),
        )
    try:
        yield record
    except SkipWindow as reason:
        _finish(record, SKIPPED, str(reason)[:4000])
        raise
    except BaseException as error:
        _finish(record, FAILED, f"{type(error).__name__}: {error}"[:4000])
        raise
    _finish(record, SUCCESS, None)


def _finish(record: PhaseRecord, status: str, error: str | None) -> None:
    finished_at = utcnow()
    with connect() as connection:
        connection.execute(
            f"update {LEDGER_TABLE} set status = ?, rows_source = ?, rows_stage = ?, rows_target = ?,"
            f" rows_quarantined = ?, error = ?, finished_at = ?, duration_seconds = ? where {_row_filter()}",
            (
                status,
                record.rows_source,
                record.rows_stage,
                record.rows_target,
                record.rows_quarantined,
                error,
                finished_at,
                (finished_at - record.started_at).total_seconds(),
                record.pipeline,
                record.window_start,
                record.phase,
                record.attempt,
            ),
        )


def rows(pipeline: str, window_start: datetime | None = None) -> list[dict]:
    """The ledger of one pipeline (optionally one window) in the order it was written."""
    sql = f"select {', '.join(LEDGER_COLUMNS)} from {LEDGER_TABLE} where pipeline = ?"
    params: list = [pipeline]
    if window_start is not None:
        sql += " and window_start = ?"
        params.append(naive_utc(window_start))
    with connect() as connection:
        ensure_ops_schema(connection)
        result = connection.execute(sql + " order by window_start, started_at, attempt", params)
    return [dict(zip(LEDGER_COLUMNS, row, strict=True)) for row in result]


def latest_success(pipeline: str, window_start: datetime, name: str) -> dict | None:
    """The last successful attempt of a phase for a window, or None."""
    done = [r for r in rows(pipeline, window_start) if r["phase"] == name and r["status"] == SUCCESS]
    return max(done, key=lambda r: r["attempt"]) if done else None


def detect_stale(pipeline: str, older_than: timedelta, now: datetime | None = None) -> list[dict]:
    """Mark phases still `running` after `older_than` as `stale` (their worker died) and return them."""
    cutoff = (now or utcnow()) - older_than
    with connect() as connection:
        ensure_ops_schema(connection)
        found = connection.execute(
            f"select {', '.join(LEDGER_COLUMNS)} from {LEDGER_TABLE}"
            " where pipeline = ? and status = ? and started_at < ? order by started_at",
            (pipeline, RUNNING, cutoff),
        )
        stale = [dict(zip(LEDGER_COLUMNS, row, strict=True)) for row in found]
        for row in stale:
            message = (
                f"stale: still running phase {row['phase']} since {row['started_at']:%Y-%m-%d %H:%M:%S} UTC"
            )
            connection.execute(
                f"update {LEDGER_TABLE} set status = ?, error = ? where {_row_filter()}",
                (STALE, message, pipeline, row["window_start"], row["phase"], row["attempt"]),
            )
    for row in stale:
        log.warning(
            "stale run of %s: window %s stuck in phase %s (attempt %s, run %s) since %s",
            pipeline,
            row["window_start"],
            row["phase"],
            row["attempt"],
            row["run_id"],
            row["started_at"],
        )
    return stale
