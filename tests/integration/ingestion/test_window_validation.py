"""The validate phase on a 200k-row window in a real DuckDB file and a real PostgreSQL: the window suite of the
GX registry runs in the warehouse, counts bad rows exactly, ignores other windows, and lands in GX's results,
the Data Docs and the metrics facts, while Python's own memory stays flat."""

from __future__ import annotations

import tracemalloc
from datetime import datetime, timedelta

import pytest

from de_sandbox.ingestion import ledger
from de_sandbox.ingestion.sources import pipeline
from de_sandbox.ingestion.validation import ValidationError, validate
from de_sandbox.metrics.facts import read_facts
from de_sandbox.settings import get_settings
from de_sandbox.warehouse import connect

SPEC = pipeline("wikipedia_pageviews")

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

HOUR = datetime(2026, 1, 1, 5)
ROWS = 200_000
SUITE = "de_sandbox.marts.fct_wikipedia_pageviews"
# The window's rows, then bad rows: one duplicated key, one negative count, one null page.
DDL = """
create schema if not exists marts;
drop table if exists marts.fct_wikipedia_pageviews;
create table marts.fct_wikipedia_pageviews (
    pageview_key varchar, page_key varchar, pageview_hour timestamp, pageview_date date,
    hour_of_day integer, count_views bigint, total_response_size bigint
)
"""
ROWS_SQL = {
    "duckdb": "select md5(cast(i as varchar)), md5('p' || cast(i as varchar)), {hour}, cast({hour} as date),"
    " {hod}, mod(i, 1000), 0 from range({rows}) as t(i)",
    "postgres": "select md5(i::text), md5('p' || i::text), {hour}, cast({hour} as date), {hod}, mod(i, 1000), 0"
    " from generate_series(0, {rows} - 1) as t(i)",
}
BREAK = [
    "insert into marts.fct_wikipedia_pageviews select * from marts.fct_wikipedia_pageviews"
    " where pageview_key = md5('0') and pageview_hour = {hour}",
    "update marts.fct_wikipedia_pageviews set count_views = -3 where pageview_key = md5('1')"
    " and pageview_hour = {hour}",
    "update marts.fct_wikipedia_pageviews set page_key = null where pageview_key = md5('2')"
    " and pageview_hour = {hour}",
]


def build_window(warehouse: str, *, broken: bool) -> None:
    """The window of HOUR with ROWS rows, and a bad next hour that the window's validation must not see."""
    with connect() as connection:
        for statement in DDL.split(";"):
            connection.execute(statement)
        for hour, rows in ((HOUR, ROWS), (HOUR + timedelta(hours=1), 1000)):
            literal = f"cast('{hour:%Y-%m-%d %H:%M:%S}' as timestamp)"
            select = ROWS_SQL[warehouse].format(hour=literal, hod=hour.hour, rows=rows)
            connection.execute(f"insert into marts.fct_wikipedia_pageviews {select}")
        literal = f"cast('{HOUR + timedelta(hours=1):%Y-%m-%d %H:%M:%S}' as timestamp)"
        connection.execute(
            f"update marts.fct_wikipedia_pageviews set count_views = -1 where pageview_hour = {literal}"
        )
        if broken:
            for statement in BREAK:
                connection.execute(statement.format(hour=f"cast('{HOUR:%Y-%m-%d %H:%M:%S}' as timestamp)"))


def latest_gx_facts(metrics_db: str) -> list[tuple]:
    return [
        (row["run_id"], row["suite"], row["success"], row["failed"]) for row in read_facts(metrics_db)["gx"]
    ]


def check_window(warehouse: str, metrics_db: str) -> None:
    import great_expectations  # noqa: F401  (its import is not the validation's memory)

    build_window(warehouse, broken=False)
    tracemalloc.start()
    try:
        assert validate(SPEC, HOUR, HOUR + timedelta(hours=1), "clean") == ROWS
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The rows of the window as Python tuples alone would take far more than this.
    assert peak < 40 * 2**20, f"validation allocated {peak / 2**20:.1f} MiB in Python"
    assert latest_gx_facts(metrics_db) == [("clean", SUITE, 1, 0)]

    build_window(warehouse, broken=True)
    with pytest.raises(ValidationError) as caught:
        validate(SPEC, HOUR, HOUR + timedelta(hours=1), "broken")

    message = str(caught.value)
    assert "expect_column_values_to_be_unique pageview_key (2 of 200001 rows)" in message
    assert "expect_column_values_to_be_between count_views (1 of 200001 rows)" in message
    assert "expect_column_values_to_not_be_null page_key (1 of 200001 rows)" in message
    assert "hour_of_day" not in message
    assert ledger.rows(SPEC.name)[-1]["status"] == "failed"

    assert latest_gx_facts(metrics_db) == [("broken", SUITE, 0, 3)]
    settings = get_settings()
    stored = list((settings.gx_root_dir / "uncommitted" / "validations" / "de_sandbox").rglob("*.json"))
    assert len(stored) == 2
    docs = settings.gx_root_dir / "uncommitted" / "data_docs" / "local_site"
    assert SUITE in (docs / "index.html").read_text()
    assert any("200001" in page.read_text() for page in (docs / "validations").rglob("*.html"))


def test_duckdb_window_of_200k_rows(ingestion_env):
    check_window("duckdb", ingestion_env["METRICS_DB_PATH"])


def test_postgres_window_of_200k_rows(ingestion_env, postgres_server, monkeypatch):
    admin = postgres_server.connect("postgres")
    admin.cursor().execute("drop database if exists gx_window")
    admin.cursor().execute("create database gx_window")
    admin.close()
    for name, value in {
        **postgres_server.env(),
        "WAREHOUSE": "postgres",
        "WAREHOUSE_DB": "gx_window",
    }.items():
        monkeypatch.setenv(name, value)
    check_window("postgres", ingestion_env["METRICS_DB_PATH"])
