"""The same ingestion code path on PostgreSQL: load, incremental dbt models, audit, GX, ledger; re-run."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from ingestion_helpers import run_dbt, use_postgres_warehouse

from de_sandbox.ingestion import ledger
from de_sandbox.ingestion.phases import audit, extract, load
from de_sandbox.ingestion.sources import pipeline
from de_sandbox.ingestion.validation import validate

SPEC = pipeline("wikipedia_pageviews")

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 1, 1, 9)
NEXT = HOUR + timedelta(hours=1)


@pytest.fixture
def postgres_warehouse(postgres_server, ingestion_env, monkeypatch):
    """The session's PostgreSQL server as warehouse, with our tables dropped first."""
    use_postgres_warehouse(postgres_server, monkeypatch)
    return postgres_server


@pytest.mark.timeout(900)
def test_window_twice_on_postgres_gives_identical_counts(postgres_warehouse, tmp_path):
    runs = []
    for attempt in (1, 2):
        run_id = f"pg-{attempt}"
        keys = extract(SPEC, HOUR, NEXT, run_id)
        load(SPEC, HOUR, NEXT, keys, run_id)
        run_dbt(tmp_path, "tag:wikipedia", f"{HOUR:%Y-%m-%d %H:%M:%S}", f"{NEXT:%Y-%m-%d %H:%M:%S}")
        runs.append({**audit(SPEC, HOUR, NEXT, run_id), "validated": validate(SPEC, HOUR, NEXT, run_id)})

    assert (
        runs[0] == runs[1] == {"source": 300, "stage": 300, "quarantined": 0, "target": 300, "validated": 300}
    )
    statuses = [(r["phase"], r["attempt"], r["status"]) for r in ledger.rows(SPEC.name, HOUR)]
    assert statuses == [
        (phase, attempt, "success")
        for attempt in (1, 2)
        for phase in ("extract", "load", "audit", "validate")
    ]
