"""wikipedia_pageviews phases against a real S3-compatible server and a real DuckDB file: landing, quarantine,
idempotent re-runs, a 24-hour backfill, audits, and the run ledger after success, failure and retry."""

from __future__ import annotations

import gzip
import json
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from ingestion_helpers import record_figures, run_dbt

from de_sandbox.ingestion import ledger, pageviews
from de_sandbox.ingestion.phases import AuditError, archive, audit, check_stale, extract, load
from de_sandbox.ingestion.records import MalformedSourceError
from de_sandbox.ingestion.sources import configured_location, pipeline
from de_sandbox.warehouse import connect

SPEC = pipeline("wikipedia_pageviews")

pytestmark = pytest.mark.integration

DAY = datetime(2026, 1, 1)
HOUR = DAY + timedelta(hours=5)
NEXT = HOUR + timedelta(hours=1)


def ingest(start: datetime, run_id: str = "test") -> tuple[list[str], dict]:
    end = start + timedelta(hours=1)
    keys = extract(SPEC, start, end, run_id)
    return keys, load(SPEC, start, end, keys, run_id)


def warehouse_counts(start: datetime) -> dict:
    with connect() as connection:
        counts = {
            "raw": connection.scalar(
                "select count(*) from raw.wikipedia_pageviews where window_start = ?", (start,)
            ),
            "quarantine": connection.scalar(
                "select count(*) from ops.quarantine where pipeline = ? and window_start = ?",
                (SPEC.name, start),
            ),
        }
        if connection.table_exists("marts", "fct_wikipedia_pageviews"):
            for table in ("staging.stg_wikipedia__pageviews", "marts.fct_wikipedia_pageviews"):
                counts[table] = connection.scalar(
                    f"select count(*) from {table} where pageview_hour = ?", (start,)
                )
            counts["marts.dim_wikipedia_pages"] = connection.scalar(
                "select count(*) from marts.dim_wikipedia_pages"
            )
            counts["views"] = connection.scalar(
                "select sum(count_views) from marts.fct_wikipedia_pageviews_enriched where pageview_hour = ?",
                (start,),
            )
    return counts


def write_source(ingestion_env, hour: datetime, data: bytes) -> None:
    (Path(ingestion_env["PAGEVIEWS_SOURCE"]) / pageviews.relative_path(hour)).write_bytes(data)


def test_hour_lands_under_partitioned_key_loads_and_archives(store):
    keys, counts = ingest(HOUR)

    assert keys == ["wikipedia_pageviews/year=2026/month=01/day=01/hour=05/pageviews-20260101-050000.gz"]
    assert counts == {"source": 300, "stage": 300, "quarantined": 0}
    assert store.get(store.raw_bucket, keys[0]) == pageviews.generate_hour(HOUR)
    assert warehouse_counts(HOUR) == {"raw": 300, "quarantine": 0}

    archive(SPEC, HOUR, NEXT, keys, "test")

    assert store.list_keys(store.raw_bucket, "wikipedia_pageviews/") == []
    assert store.list_keys(store.archive_bucket, "wikipedia_pageviews/") == keys


def test_bad_lines_are_quarantined_with_reasons_and_counted(ingestion_env):
    good = gzip.decompress(pageviews.generate_hour(HOUR)).splitlines(keepends=True)[:10]
    bad = [b"en Only_Two\n", b"de Bad\xffTitle 3 0\n", good[0]]
    write_source(ingestion_env, HOUR, gzip.compress(b"".join(good + bad)))

    _, counts = ingest(HOUR)

    assert counts == {"source": 13, "stage": 10, "quarantined": 3}
    with connect() as connection:
        reasons = connection.execute(
            "select record_no, reason, raw_record from ops.quarantine"
            " where window_start = ? order by record_no",
            (HOUR,),
        )
    assert [(r[0], r[1].split(" (")[0]) for r in reasons] == [
        (11, "expected 4 space-separated fields"),
        (12, "non-UTF-8 bytes at byte 6"),
        (13, "duplicate of record 1"),
    ]
    assert reasons[1][2] == "de Bad\\xffTitle 3 0"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (pageviews.generate_hour(HOUR)[:400], "truncated gzip"),
        (gzip.compress(b""), "empty file"),
    ],
    ids=["truncated-gzip", "empty-file"],
)
def test_ledger_after_failure_and_retry(ingestion_env, content, message):
    write_source(ingestion_env, HOUR, content)
    keys = extract(SPEC, HOUR, NEXT, "run-1")
    with pytest.raises(MalformedSourceError, match=message):
        load(SPEC, HOUR, NEXT, keys, "run-1")

    # The source is fixed and only the failed task runs again, as Airflow does when it retries or is cleared.
    write_source(ingestion_env, HOUR, pageviews.generate_hour(HOUR))
    extract(SPEC, HOUR, NEXT, "run-1")
    load(SPEC, HOUR, NEXT, keys, "run-1")

    rows = [
        (r["phase"], r["attempt"], r["status"], r["rows_source"], r["rows_stage"])
        for r in ledger.rows(SPEC.name)
    ]
    assert rows == [
        ("extract", 1, "success", None, None),
        ("load", 1, "failed", None, None),
        ("extract", 2, "success", None, None),
        ("load", 2, "success", 300, 300),
    ]
    failed = ledger.rows(SPEC.name)[1]
    assert message in failed["error"] and failed["finished_at"] >= failed["started_at"]
    assert failed["duration_seconds"] >= 0
    assert warehouse_counts(HOUR) == {"raw": 300, "quarantine": 0}


def test_missing_source_hour_fails_extract_with_a_clear_error(ingestion_env):
    missing = datetime(2025, 6, 1, 3)
    with pytest.raises(FileNotFoundError, match="no source file for 2025-06-01 03:00 UTC"):
        extract(SPEC, missing, missing + timedelta(hours=1), "run-1")
    (row,) = ledger.rows(SPEC.name)
    assert (row["phase"], row["status"]) == ("extract", "failed")
    assert "no source file" in row["error"]


def test_an_hour_the_bundled_samples_lack_is_skipped_not_failed(ingestion_env, monkeypatch):
    # The same missing hour from the bundled offline samples (what an hourly schedule hits every hour).
    monkeypatch.setenv("PAGEVIEWS_SOURCE", configured_location("wikipedia_pageviews"))
    missing = datetime(2025, 6, 1, 3)
    with pytest.raises(ledger.SkipWindow, match="bundled offline samples cover 2026-01-01 UTC only"):
        extract(SPEC, missing, missing + timedelta(hours=1), "run-1")
    (row,) = ledger.rows(SPEC.name)
    assert (row["phase"], row["status"]) == ("extract", "skipped")
    assert "no source file for 2025-06-01 03:00 UTC" in row["error"] and "PAGEVIEWS_SOURCE" in row["error"]


def test_stale_phase_is_detected_and_reported(ingestion_env):
    # A worker that died mid-phase leaves its row `running`; one started a moment ago is still in flight.
    insert = (
        "insert into ops.run_ledger (pipeline, window_start, window_end, phase, attempt, run_id, status,"
        " started_at) values (?, ?, ?, ?, 1, ?, 'running', ?)"
    )
    with connect() as connection:
        ledger.ensure_ops_schema(connection)
        connection.execute(
            insert, (SPEC.name, HOUR, NEXT, "load", "dead-run", ledger.utcnow() - timedelta(hours=3))
        )
        connection.execute(insert, (SPEC.name, NEXT, NEXT, "extract", "live-run", ledger.utcnow()))

    assert check_stale(SPEC) == 1
    assert check_stale(SPEC) == 0

    statuses = {(r["run_id"], r["status"]) for r in ledger.rows(SPEC.name)}
    assert statuses == {("dead-run", "stale"), ("live-run", "running")}
    (stale,) = [r for r in ledger.rows(SPEC.name) if r["status"] == "stale"]
    assert stale["error"].startswith("stale: still running phase load since")


def test_an_attempt_that_died_silently_is_superseded_by_the_next_one(ingestion_env):
    """A load whose process died (or whose database went away) left its row `running`: the retry's attempt marks
    it stale, so the ledger never shows two loads of one window in flight."""
    with connect() as connection:
        ledger.ensure_ops_schema(connection)
        connection.execute(
            "insert into ops.run_ledger (pipeline, window_start, window_end, phase, attempt, run_id, status,"
            " started_at) values (?, ?, ?, 'load', 1, 'run', 'running', ?)",
            (SPEC.name, HOUR, NEXT, ledger.utcnow()),
        )
    with ledger.phase(SPEC.name, HOUR, NEXT, "load", "run"):
        pass
    loads = [(r["attempt"], r["status"]) for r in ledger.rows(SPEC.name, HOUR) if r["phase"] == "load"]
    assert loads == [(1, "stale"), (2, "success")]
    (first,) = [r for r in ledger.rows(SPEC.name, HOUR) if r["attempt"] == 1]
    assert first["error"].startswith("stale: superseded by attempt 2")


@pytest.mark.timeout(900)
def test_same_window_three_times_gives_identical_counts(ingestion_env, tmp_path, store):
    """Idempotency: extract, load, dbt, audit, archive of one hour (with two bad lines), three times over."""
    sample = gzip.decompress(pageviews.generate_hour(HOUR))
    write_source(ingestion_env, HOUR, gzip.compress(sample + b"en Only_Two\n" + sample.splitlines(True)[0]))
    window = (f"{HOUR:%Y-%m-%d %H:%M:%S}", f"{NEXT:%Y-%m-%d %H:%M:%S}")
    runs = []
    for attempt in range(3):
        keys, _ = ingest(HOUR, f"run-{attempt}")
        run_dbt(tmp_path, "tag:wikipedia", *window)
        audited = audit(SPEC, HOUR, NEXT, f"run-{attempt}")
        archive(SPEC, HOUR, NEXT, keys, f"run-{attempt}")
        runs.append({**audited, **warehouse_counts(HOUR)})

    assert runs[0] == runs[1] == runs[2]
    assert runs[0]["raw"] == runs[0]["marts.fct_wikipedia_pageviews"] == 300
    assert (runs[0]["source"], runs[0]["quarantined"], runs[0]["quarantine"]) == (302, 2, 2)
    assert [r["attempt"] for r in ledger.rows(SPEC.name) if r["phase"] == "load"] == [1, 2, 3]
    assert store.list_keys(store.archive_bucket, "wikipedia_pageviews/") == keys
    record_figures("idempotency", {"window": window[0], "runs": runs})


def test_the_fact_s_dbt_tests_check_the_run_s_window(ingestion_env, tmp_path):
    # An hourly run tests its own hour (dbt/macros/ingestion_window.sql); a run without a window tests all.
    def window(start: datetime) -> tuple[str, str]:
        return f"{start:%Y-%m-%d %H:%M:%S}", f"{start + timedelta(hours=1):%Y-%m-%d %H:%M:%S}"

    ingest(HOUR)
    ingest(NEXT)
    run_dbt(tmp_path, "tag:wikipedia", window(HOUR)[0], window(NEXT)[1])  # both hours, one build
    with connect() as connection:
        connection.execute(
            "insert into marts.fct_wikipedia_pageviews select * from marts.fct_wikipedia_pageviews"
            " where pageview_hour = ? limit 1",
            (HOUR,),
        )

    def failed_tests(*args: str | None) -> set[str]:
        run_dbt(tmp_path, "fct_wikipedia_pageviews", *args, command="test", check=False)
        results = json.loads((tmp_path / "dbt-target" / "run_results.json").read_text())["results"]
        return {r["unique_id"].split(".")[2] for r in results if r["status"] != "pass"}

    assert failed_tests(*window(NEXT)) == set()
    assert failed_tests(*window(HOUR)) == {"unique_fct_wikipedia_pageviews_pageview_key"}
    assert failed_tests(None, None) == {"unique_fct_wikipedia_pageviews_pageview_key"}


@pytest.mark.timeout(1200)
def test_backfill_of_24_hours(ingestion_env, tmp_path, monkeypatch):
    """Backfill of 2026-01-01: ingest every hour, one dbt build over the day, then audit each hour."""
    hours = [DAY + timedelta(hours=h) for h in range(24)]
    started = time.monotonic()
    loaded = [ingest(hour, f"backfill__{hour:%H}")[1] for hour in hours]
    ingest_seconds = time.monotonic() - started
    run_dbt(
        tmp_path,
        "tag:wikipedia",
        f"{hours[0]:%Y-%m-%d %H:%M:%S}",
        f"{DAY + timedelta(days=1):%Y-%m-%d %H:%M:%S}",
    )
    dbt_seconds = time.monotonic() - started - ingest_seconds
    audits = [audit(SPEC, hour, hour + timedelta(hours=1), f"backfill__{hour:%H}") for hour in hours]
    total_seconds = time.monotonic() - started

    assert all(a == {**c, "target": c["stage"]} for a, c in zip(audits, loaded, strict=True))
    with connect() as connection:
        per_hour = connection.execute(
            "select pageview_hour, count(*), sum(count_views) from marts.fct_wikipedia_pageviews_enriched"
            " group by pageview_hour order by pageview_hour"
        )
        pages = connection.scalar("select count(*) from marts.dim_wikipedia_pages")
    assert [row[0] for row in per_hour] == hours
    assert sum(row[1] for row in per_hour) == 24 * 300

    # An audit beyond its tolerance fails with the numbers; a wider tolerance lets the same counts pass.
    with connect() as connection:
        connection.execute(
            "delete from marts.fct_wikipedia_pageviews where pageview_hour = ? and count_views < 3",
            (hours[7],),
        )
    with pytest.raises(AuditError, match=r"stage has 300 rows, target marts.fct_wikipedia_pageviews has \d+"):
        audit(SPEC, hours[7], hours[8], "backfill__07")
    monkeypatch.setenv("AUDIT_TOLERANCE_PCT", "100")
    audit(SPEC, hours[7], hours[8], "backfill__07")

    record_figures(
        "backfill",
        {
            "hours": 24,
            "rows_source": sum(c["source"] for c in loaded),
            "rows_loaded": sum(c["stage"] for c in loaded),
            "rows_quarantined": sum(c["quarantined"] for c in loaded),
            "fact_rows": sum(row[1] for row in per_hour),
            "views": sum(row[2] for row in per_hour),
            "pages": pages,
            "ingest_seconds": round(ingest_seconds, 1),
            "dbt_seconds": round(dbt_seconds, 1),
            "total_seconds": round(total_seconds, 1),
        },
    )
