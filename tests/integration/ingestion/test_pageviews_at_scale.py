"""A million-line pageview hour on both warehouses: exact counts through load, dbt and audit, every kind of bad
line quarantined with its record number, and the load's peak memory bounded (no Python object per line)."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from ingestion_helpers import record_figures, run_dbt, use_postgres_warehouse

from de_sandbox.embedded.bench_ingest import _PHASE_CHILD, run_child
from de_sandbox.ingestion import pageviews
from de_sandbox.ingestion.phases import audit
from de_sandbox.ingestion.sources import pipeline
from de_sandbox.warehouse import connect

SPEC = pipeline("wikipedia_pageviews")

pytestmark = pytest.mark.integration

LINES = 1_000_000
HOUR = datetime(2026, 1, 1, 7)
NEXT = HOUR + timedelta(hours=1)
# The per-line parser needed 1.2 GB for a million lines; staging is bounded by bulk.STAGE_MEMORY_LIMIT (384 MB).
LOAD_PEAK_RSS_MB = 700


@pytest.fixture(scope="module")
def million_line_hour(tmp_path_factory) -> Path:
    return pageviews.write_synthetic_hour(tmp_path_factory.mktemp("synthetic") / "hour.gz", LINES)


@pytest.fixture
def large_source(ingestion_env, million_line_hour):
    shutil.copyfile(
        million_line_hour, Path(ingestion_env["PAGEVIEWS_SOURCE"]) / pageviews.relative_path(HOUR)
    )


@pytest.fixture
def postgres_env(postgres_server, ingestion_env, monkeypatch):
    use_postgres_warehouse(postgres_server, monkeypatch)


def ingest_large_hour(tmp_path: Path, warehouse: str) -> dict:
    env = dict(os.environ)
    extracted = run_child(_PHASE_CHILD, ["extract", HOUR.isoformat()], env)
    loaded = run_child(_PHASE_CHILD, ["load", HOUR.isoformat()], env)
    run_dbt(tmp_path, "tag:wikipedia", f"{HOUR:%Y-%m-%d %H:%M:%S}", f"{NEXT:%Y-%m-%d %H:%M:%S}")
    audited = audit(SPEC, HOUR, NEXT, "scale")
    with connect() as connection:
        quarantined = connection.execute(
            "select record_no, reason from ops.quarantine where pipeline = ? and window_start = ?"
            " order by record_no",
            (SPEC.name, HOUR),
        )
        raw_rows = connection.scalar(
            "select count(*) from raw.wikipedia_pageviews where window_start = ?", (HOUR,)
        )
    figures = {
        "lines": LINES,
        "extract_seconds": round(extracted["seconds"], 2),
        "load_seconds": round(loaded["seconds"], 2),
        "load_peak_rss_mb": round(loaded["peak_rss_mb"]),
        "audit": audited,
    }
    record_figures(f"pageviews_{LINES}_lines_{warehouse}", figures)
    return {"load": loaded, "audit": audited, "quarantined": quarantined, "raw": raw_rows}


def assert_exact(result: dict) -> None:
    bad = pageviews.synthetic_bad_lines(LINES)
    total_bad = sum(bad.values())
    assert result["load"]["result"] == {"source": LINES, "stage": LINES - total_bad, "quarantined": total_bad}
    assert result["audit"] == {
        "source": LINES,
        "stage": LINES - total_bad,
        "quarantined": total_bad,
        "target": LINES - total_bad,
    }
    assert result["raw"] == LINES - total_bad
    every = pageviews.BAD_LINE_EVERY
    assert [r[0] for r in result["quarantined"]] == list(range(every // 2 + 1, LINES + 1, every))
    kinds = {
        "fields": "expected 4 space-separated fields",
        "non_utf8": "non-UTF-8 bytes at byte",
        "views": "count_views is not an integer: 'many'",
        "size": "total_response_size is not an integer: '-1'",
        "empty": "empty domain_code or page_title",
        "duplicate": "duplicate of record",
    }
    counted = {
        kind: sum(r[1].startswith(prefix) for r in result["quarantined"]) for kind, prefix in kinds.items()
    }
    assert counted == bad
    first_duplicate = next(r for r in result["quarantined"] if r[1].startswith("duplicate"))
    assert (
        first_duplicate[1]
        == f"duplicate of record {first_duplicate[0] - 1} (same domain_code and page_title)"
    )
    assert result["load"]["peak_rss_mb"] < LOAD_PEAK_RSS_MB


@pytest.mark.timeout(600)
def test_million_line_hour_on_duckdb(large_source, tmp_path):
    assert_exact(ingest_large_hour(tmp_path, "duckdb"))


@pytest.mark.timeout(600)
def test_million_line_hour_on_postgres(large_source, postgres_env, tmp_path):
    assert_exact(ingest_large_hour(tmp_path, "postgres"))
