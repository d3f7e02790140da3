"""Facts store: what pipelines record is what the exporter reads back; durable; safe for parallel writers."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest

from de_sandbox.metrics import facts


def test_reading_before_any_record_serves_nothing_and_creates_nothing(tmp_path) -> None:
    db = tmp_path / "metrics" / "facts.sqlite"
    assert facts.read_facts(db) == facts.empty_facts()
    assert not db.exists()


def test_default_path_is_under_data_dir(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("METRICS_DB_PATH", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    assert facts.db_path() == tmp_path / "metrics" / "facts.sqlite"


def test_ingestion_latest_run_and_totals_per_table(tmp_path) -> None:
    db = tmp_path / "facts.sqlite"
    facts.record_ingestion("shop", "raw_orders", "2026-01-01", "2026-01-02", 10, 9, 1, "success", db=db)
    facts.record_ingestion("shop", "raw_orders", "2026-01-02", "2026-01-03", 5, 5, 0, "success", db=db)
    facts.record_ingestion("shop", "raw_customers", None, None, None, 3, db=db)
    snapshot = facts.read_facts(db)
    latest = {row["table_name"]: dict(row) for row in snapshot["ingestion"]}
    assert latest["raw_orders"]["rows_loaded"] == 5
    assert latest["raw_orders"]["window_end"] == datetime(2026, 1, 3, tzinfo=UTC).timestamp()
    assert latest["raw_customers"]["rows_source"] is None
    totals = {
        row["table_name"]: (row["rows_loaded"], row["rows_quarantined"])
        for row in snapshot["ingestion_totals"]
    }
    assert totals == {"raw_orders": (14, 1), "raw_customers": (3, 0)}


def test_freshness_keeps_one_row_per_source_table(tmp_path) -> None:
    db = tmp_path / "facts.sqlite"
    loaded = datetime.now(UTC) - timedelta(hours=3)
    facts.record_freshness("shop", "raw_orders", loaded - timedelta(days=1), 3600, db=db)
    facts.record_freshness("shop", "raw_orders", loaded, 7200, db=db)
    (row,) = facts.read_facts(db)["freshness"]
    assert row["last_loaded_at"] == pytest.approx(loaded.timestamp())
    assert row["sla_seconds"] == 7200


def test_gx_results_in_their_serialized_shapes(tmp_path) -> None:
    db = tmp_path / "facts.sqlite"
    suite_result = {  # ExpectationSuiteValidationResult.to_json_dict()
        "suite_name": "orders",
        "success": False,
        "statistics": {
            "evaluated_expectations": 4,
            "successful_expectations": 3,
            "unsuccessful_expectations": 1,
        },
        "results": [],
    }
    checkpoint_description = {  # CheckpointResult.describe_dict(), the GX Airflow provider's XCom
        "success": True,
        "statistics": {"evaluated_validations": 1},
        "validation_results": [
            {"success": True, "statistics": {"evaluated_expectations": 2, "successful_expectations": 2}}
        ],
    }
    assert facts.record_gx_results(suite_result, "dag", "run1", db=db) == 1
    assert facts.record_gx_results(checkpoint_description, "dag", "run1", suite="customers", db=db) == 1
    snapshot = facts.read_facts(db)
    latest = {row["suite"]: (row["success"], row["passed"], row["failed"]) for row in snapshot["gx"]}
    assert latest == {"orders": (0, 3, 1), "customers": (1, 2, 0)}
    with pytest.raises(TypeError):
        facts.record_gx_results(42, "dag", "run1", db=db)


def _write_many(db: str, worker: int, start) -> None:
    start.wait()  # every worker opens the new file at once: the first-use race on WAL mode
    for i in range(25):
        facts.record_ingestion("load", f"t{worker}", None, None, None, i, db=db)


@pytest.mark.parametrize("round_", range(4))
def test_concurrent_writer_processes_lose_nothing(tmp_path, round_) -> None:
    db = str(tmp_path / "facts.sqlite")
    context = multiprocessing.get_context("fork")
    start = context.Barrier(8)
    workers = [context.Process(target=_write_many, args=(db, w, start)) for w in range(8)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=120)
        assert process.exitcode == 0
    totals = {row["table_name"]: row["rows_loaded"] for row in facts.read_facts(db)["ingestion_totals"]}
    assert totals == {f"t{w}": sum(range(25)) for w in range(8)}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (1700000000, 1700000000.0),
        ("2026-01-01T00:00:00", datetime(2026, 1, 1, tzinfo=UTC).timestamp()),
        ("2026-01-01T02:00:00+02:00", datetime(2026, 1, 1, tzinfo=UTC).timestamp()),
        (datetime(2026, 1, 1), datetime(2026, 1, 1, tzinfo=UTC).timestamp()),
    ],
)
def test_times_become_epoch_seconds_naive_as_utc(value, expected) -> None:
    assert facts.to_epoch(value) == expected
