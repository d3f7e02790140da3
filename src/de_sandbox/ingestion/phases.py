"""The phases of an incremental ingestion run for one window, each recorded in the run ledger: stale check,
extract (source -> raw bucket), load (raw bucket -> warehouse raw table + quarantine), audit, archive.

Airflow tasks call these with the run's data interval as the window; re-running a window replaces its rows.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from de_sandbox.ingestion import bulk, ledger
from de_sandbox.ingestion.formats import WINDOW_COLUMN
from de_sandbox.ingestion.objectstore import ObjectStore
from de_sandbox.ingestion.records import Quarantined
from de_sandbox.ingestion.spec import PipelineSpec
from de_sandbox.metrics import facts
from de_sandbox.settings import IngestionSettings, get_ingestion_settings
from de_sandbox.warehouse import WarehouseConnection, connect

log = logging.getLogger(__name__)
# A million-line hour could quarantine thousands of lines: the task log names the first ones, the table all.
QUARANTINE_LOG_LINES = 50


class AuditError(AssertionError):
    """Counts of a window do not reconcile between source, stage and target."""


def check_stale(spec: PipelineSpec, settings: IngestionSettings | None = None) -> int:
    """Report (and mark) phases of earlier runs stuck in `running`; returns how many were found."""
    settings = settings or get_ingestion_settings()
    stale = ledger.detect_stale(spec.name, timedelta(minutes=settings.stale_after_minutes))
    return len(stale)


def extract(spec: PipelineSpec, start: datetime, end: datetime, run_id: str | None = None) -> list[str]:
    """Fetch the window's raw files from the source and land them in the raw bucket; returns their keys."""
    settings = get_ingestion_settings()
    with ledger.phase(spec.name, start, end, "extract", run_id):
        window_start, window_end = ledger.naive_utc(start), ledger.naive_utc(end)
        objects = spec.fetch(settings, window_start, window_end)
        store = ObjectStore(settings)
        store.ensure_buckets()
        for obj in objects:
            if obj.path is None:
                store.put(store.raw_bucket, obj.key, obj.body or b"", obj.content_type)
                continue
            try:
                store.put_file(store.raw_bucket, obj.key, obj.path, obj.content_type)
            finally:
                if obj.temporary:
                    obj.path.unlink(missing_ok=True)
        log.info("landed %d object(s) for %s in s3://%s", len(objects), spec.name, store.raw_bucket)
        return [obj.key for obj in objects]


def load(
    spec: PipelineSpec, start: datetime, end: datetime, keys: list[str], run_id: str | None = None
) -> dict:
    """Parse the landed objects and replace the window's rows and quarantine records in one transaction."""
    try:
        counts = _load(spec, start, end, keys, run_id)
    except Exception:
        publish_ingestion_metrics(spec, start, end, {}, "failed")
        raise
    publish_ingestion_metrics(spec, start, end, counts, "success")
    return counts


def _load(spec: PipelineSpec, start: datetime, end: datetime, keys: list[str], run_id: str | None) -> dict:
    settings = get_ingestion_settings()
    with ledger.phase(spec.name, start, end, "load", run_id) as record:
        window_start = ledger.naive_utc(start)
        store = ObjectStore(settings)
        with tempfile.TemporaryDirectory(prefix=f"{spec.name}-load-") as scratch:
            if spec.stage is not None:
                loaded, quarantined, records_in = _load_staged(spec, store, keys, window_start, Path(scratch))
            else:
                loaded, quarantined, records_in = _load_parsed(spec, store, keys, window_start)
        record.rows_source, record.rows_stage = records_in, loaded
        record.rows_quarantined = len(quarantined)
        for q in quarantined[:QUARANTINE_LOG_LINES]:
            log.warning("quarantined %s record %s: %s", q.source_file, q.record_no, q.reason)
        if len(quarantined) > QUARANTINE_LOG_LINES:
            log.warning("... and %d more quarantined record(s)", len(quarantined) - QUARANTINE_LOG_LINES)
        return {"source": records_in, "stage": loaded, "quarantined": len(quarantined)}


def _prepare_window(spec: PipelineSpec, window_start: datetime) -> None:
    """The raw table (on PostgreSQL partitioned by window) and the window's partition exist, committed in a
    transaction of their own: concurrent loads of other windows do not wait for this one's."""
    with connect() as connection:
        ledger.ensure_ops_schema(connection)
        connection.create_missing(
            (spec.raw_table,),
            (
                f"create schema if not exists {spec.raw_table.split('.')[0]}",
                connection.windowed_ddl(spec.raw_ddl, WINDOW_COLUMN),
            ),
        )
        connection.ensure_window_partition(spec.raw_table, window_start)


def _replace_window(connection: WarehouseConnection, spec: PipelineSpec, window_start: datetime) -> str:
    """Remove the window's raw rows and quarantine records; returns the relation its rows go to."""
    target = connection.clear_window(spec.raw_table, WINDOW_COLUMN, window_start)
    connection.execute(
        f"delete from {ledger.QUARANTINE_TABLE} where pipeline = ? and window_start = ?",
        (spec.name, window_start),
    )
    return target


def _insert_quarantined(
    connection: WarehouseConnection,
    spec: PipelineSpec,
    window_start: datetime,
    quarantined: list[Quarantined],
    loaded_at: datetime,
) -> None:
    connection.insert_rows(
        ledger.QUARANTINE_TABLE,
        ("pipeline", "window_start", "source_file", "record_no", "raw_record", "reason", "quarantined_at"),
        [
            (spec.name, window_start, q.source_file, q.record_no, q.raw_record, q.reason, loaded_at)
            for q in quarantined
        ],
    )


def _load_parsed(
    spec: PipelineSpec, store: ObjectStore, keys: list[str], window_start: datetime
) -> tuple[int, list[Quarantined], int]:
    """Small objects: parsed in memory into rows, inserted with the quarantine in one transaction."""
    objects = [(f"s3://{store.raw_bucket}/{key}", store.get(store.raw_bucket, key)) for key in keys]
    result = spec.parse(objects, window_start)
    loaded_at = ledger.utcnow()
    _prepare_window(spec, window_start)
    with connect() as connection:
        target = _replace_window(connection, spec, window_start)
        loaded = connection.insert_rows(target, spec.raw_columns, [(*row, loaded_at) for row in result.rows])
        _insert_quarantined(connection, spec, window_start, result.quarantined, loaded_at)
        connection.refresh_statistics(target)
    return loaded, result.quarantined, result.records_in


def _load_staged(
    spec: PipelineSpec, store: ObjectStore, keys: list[str], window_start: datetime, scratch: Path
) -> tuple[int, list[Quarantined], int]:
    """Large files: streamed to disk, classified block by block in DuckDB (the warehouse's own connection, or
    an in-memory one for PostgreSQL), bulk-inserted with the quarantine in one transaction."""
    files = [
        (f"s3://{store.raw_bucket}/{key}", store.get_file(store.raw_bucket, key, scratch / f"object-{n}.gz"))
        for n, key in enumerate(keys)
    ]
    _prepare_window(spec, window_start)
    with connect() as connection:
        raw_relation = _replace_window(connection, spec, window_start)
        if connection.kind == "duckdb":
            stage_db = bulk.limit_memory(connection.raw)
        else:
            stage_db = bulk.connect_stage(scratch)
        try:
            loaded_at = ledger.utcnow()
            # A window's own partition was truncated above: PostgreSQL may copy into it directly.
            fresh = raw_relation != spec.raw_table
            target = bulk.RawTarget(connection, raw_relation, loaded_at, scratch, fresh)
            try:
                staged = spec.stage(stage_db, files, window_start, target)
                target.flush()
            finally:
                target.close()
            _insert_quarantined(connection, spec, window_start, staged.quarantined, loaded_at)
            connection.refresh_statistics(raw_relation)
        finally:
            if stage_db is not connection.raw:
                stage_db.close()
    loaded = staged.loaded
    return loaded, staged.quarantined, staged.records_in


def count_target_rows(spec: PipelineSpec, start: datetime) -> int:
    with connect() as connection:
        return int(
            connection.scalar(
                f"select count(*) from {spec.target_table} where {spec.target_window_column} = ?",
                (ledger.naive_utc(start),),
            )
        )


def audit(spec: PipelineSpec, start: datetime, end: datetime, run_id: str | None = None) -> dict:
    """Reconcile the window: source == stage + quarantined exactly; target within the tolerance of stage."""
    override = get_ingestion_settings().audit_tolerance_pct
    tolerance_pct = spec.audit_tolerance_pct if override is None else override
    with ledger.phase(spec.name, start, end, "audit", run_id) as record:
        loaded = ledger.latest_success(spec.name, start, "load")
        if loaded is None:
            raise AuditError(
                f"audit {spec.name} {start:%Y-%m-%d %H:%M}: no successful load in the run ledger"
            )
        source, stage, quarantined = loaded["rows_source"], loaded["rows_stage"], loaded["rows_quarantined"]
        target = count_target_rows(spec, start)
        record.rows_source, record.rows_stage = source, stage
        record.rows_quarantined, record.rows_target = quarantined, target
        label = f"audit {spec.name} window {start:%Y-%m-%d %H:%M}"
        if source != stage + quarantined:
            raise AuditError(
                f"{label}: source has {source} records but stage {stage} + quarantined {quarantined}"
                f" = {stage + quarantined}; {source - stage - quarantined} record(s) unaccounted for"
            )
        difference_pct = 100.0 * abs(stage - target) / stage if stage else (0.0 if target == 0 else 100.0)
        if difference_pct > tolerance_pct:
            raise AuditError(
                f"{label}: stage has {stage} rows, target {spec.target_table} has {target}:"
                f" {difference_pct:.2f}% apart, beyond the tolerance of {tolerance_pct:g}%"
                " (audit.tolerance_pct of the pipeline's config, or AUDIT_TOLERANCE_PCT)"
            )
        log.info(
            "%s passed: source=%s stage=%s quarantined=%s target=%s",
            label,
            source,
            stage,
            quarantined,
            target,
        )
        return {"source": source, "stage": stage, "quarantined": quarantined, "target": target}


def archive(
    spec: PipelineSpec, start: datetime, end: datetime, keys: list[str], run_id: str | None = None
) -> int:
    """Move the window's processed raw objects to the archive bucket."""
    with ledger.phase(spec.name, start, end, "archive", run_id):
        store = ObjectStore()
        for key in keys:
            store.archive(key)
        log.info("archived %d object(s) to s3://%s", len(keys), store.archive_bucket)
        return len(keys)


def publish_ingestion_metrics(
    spec: PipelineSpec, start: datetime, end: datetime, counts: dict, status: str
) -> None:
    """Hand the window's counts and freshness to the metrics facts store (the exporter reads it)."""
    facts.record_ingestion(
        spec.name,
        spec.raw_table,
        ledger.naive_utc(start),
        ledger.naive_utc(end),
        counts.get("source"),
        counts.get("stage", 0),
        counts.get("quarantined", 0),
        status,
    )
    if status == "success":
        facts.record_freshness(spec.name, spec.raw_table, ledger.utcnow(), spec.freshness_sla_seconds)
