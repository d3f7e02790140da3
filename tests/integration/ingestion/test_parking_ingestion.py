"""stavanger_parking phases against a real S3-compatible server and DuckDB: recorded responses through staging,
intermediate and marts, GX validation, and an API error response recorded in the run ledger."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from ingestion_helpers import run_dbt

from de_sandbox.ingestion import ledger, parking
from de_sandbox.ingestion.phases import audit, extract, load
from de_sandbox.ingestion.records import MalformedSourceError
from de_sandbox.ingestion.sources import pipeline
from de_sandbox.ingestion.validation import ValidationError, validate
from de_sandbox.warehouse import connect

SPEC = pipeline("stavanger_parking")

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, 14)
END = START + timedelta(hours=1)


@pytest.mark.timeout(900)
def test_window_through_staging_intermediate_marts(ingestion_env, tmp_path, store):
    keys = extract(SPEC, START, END, "run-1")
    counts = load(SPEC, START, END, keys, "run-1")
    run_dbt(tmp_path, "tag:parking", f"{START:%Y-%m-%d %H:%M:%S}", f"{END:%Y-%m-%d %H:%M:%S}")

    assert len(keys) == 4 and all(
        k.startswith("stavanger_parking/year=2026/month=01/day=01/hour=14/") for k in keys
    )
    houses = len(parking.SAMPLE_HOUSES)
    assert counts == {"source": 4 * houses, "stage": 4 * houses, "quarantined": 0}
    assert audit(SPEC, START, END, "run-1")["target"] == 4 * houses
    assert validate(SPEC, START, END, "run-1") == 4 * houses
    with connect() as connection:
        hourly = connection.execute(
            "select parking_house, snapshot_hour, snapshots, min_free_spaces, max_free_spaces,"
            " avg_free_spaces from marts.fct_parking_occupancy_hourly order by parking_house"
        )
    assert len(hourly) == houses
    assert all(row[1] == START and row[2] == 4 and row[3] <= row[5] <= row[4] for row in hourly)
    phases = [(r["phase"], r["status"]) for r in ledger.rows(SPEC.name)]
    assert phases == [(p, "success") for p in ("extract", "load", "audit", "validate")]

    with connect() as connection:
        connection.execute(
            "update intermediate.int_parking_snapshots_enriched set free_spaces = -1 where parking_house = ?",
            ("Posten",),
        )
    with pytest.raises(ValidationError, match="failed: expect_column_values_to_be_between free_spaces"):
        validate(SPEC, START, END, "run-1")
    assert ledger.rows(SPEC.name)[-1]["status"] == "failed"


def test_api_error_response_fails_load_with_its_message(ingestion_env, tmp_path, monkeypatch):
    recorded = tmp_path / "parking"
    recorded.mkdir()
    (recorded / parking.response_name(START)).write_text(json.dumps({"error": "Service Unavailable"}))
    monkeypatch.setenv("STAVANGER_PARKING_URL", str(recorded))

    keys = extract(SPEC, START, END, "run-1")
    with pytest.raises(MalformedSourceError, match="parking API error response: Service Unavailable"):
        load(SPEC, START, END, keys, "run-1")

    failed = ledger.rows(SPEC.name)[-1]
    assert (failed["phase"], failed["status"]) == ("load", "failed")
    assert "Service Unavailable" in failed["error"]
