"""The same ingestion code path on PostgreSQL: load, incremental dbt models, audit, GX, ledger; re-run."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from ingestion_helpers import run_dbt, use_postgres_warehouse

from de_sandbox.ingestion import ledger, pageviews
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


FACT_INDEX = "marts.fct_wikipedia_pageviews__pageview_hour_brin"


@pytest.mark.timeout(900)
def test_window_twice_on_postgres_gives_identical_counts(postgres_warehouse, tmp_path):
    from de_sandbox.warehouse import connect

    runs = []
    for attempt in (1, 2):
        run_id = f"pg-{attempt}"
        keys = extract(SPEC, HOUR, NEXT, run_id)
        load(SPEC, HOUR, NEXT, keys, run_id)
        run_dbt(tmp_path, "tag:wikipedia", f"{HOUR:%Y-%m-%d %H:%M:%S}", f"{NEXT:%Y-%m-%d %H:%M:%S}")
        runs.append({**audit(SPEC, HOUR, NEXT, run_id), "validated": validate(SPEC, HOUR, NEXT, run_id)})
        if attempt == 1:
            # As for a fact built before its index: the next run creates it.
            with connect() as connection:
                connection.execute(f"drop index {FACT_INDEX}")

    assert (
        runs[0] == runs[1] == {"source": 300, "stage": 300, "quarantined": 0, "target": 300, "validated": 300}
    )
    # The fact's BRIN index on the hour: the delete+insert, the windowed tests and the audit's count read one
    # hour's blocks, not every hour's. The planner only takes it with the fact's statistics fresh (a 6M-line
    # hour's count went to a parallel scan of every hour without them), so the run analyzes the fact.
    with connect() as connection:
        (definition,) = connection.execute(
            "select indexdef from pg_indexes where schemaname = 'marts' and indexname = ?",
            (FACT_INDEX.split(".")[1],),
        )[0]
        analyzed = connection.scalar(
            "select last_analyze from pg_stat_user_tables where schemaname = 'marts' and relname = ?",
            ("fct_wikipedia_pageviews",),
        )
    assert definition.endswith("USING brin (pageview_hour)")
    assert analyzed is not None
    statuses = [(r["phase"], r["attempt"], r["status"]) for r in ledger.rows(SPEC.name, HOUR)]
    assert statuses == [
        (phase, attempt, "success")
        for attempt in (1, 2)
        for phase in ("extract", "load", "audit", "validate")
    ]


def test_a_nul_byte_is_quarantined_not_a_refused_copy(postgres_warehouse, ingestion_env):
    """PostgreSQL text cannot hold NUL: COPY refused the whole hour for one such line until it was quarantined
    (DuckDB loaded it)."""
    from de_sandbox.warehouse import connect

    path = Path(ingestion_env["PAGEVIEWS_SOURCE"]) / pageviews.relative_path(HOUR)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(b"en Main_Page 10 100\nen Nul\x00Title 5 50\nde Berlin 3 30\n"))

    counts = load(SPEC, HOUR, NEXT, extract(SPEC, HOUR, NEXT, "nul"), "nul")

    with connect() as connection:
        quarantined = connection.execute(
            "select record_no, raw_record, reason from ops.quarantine where pipeline = ? and window_start = ?",
            (SPEC.name, HOUR),
        )
        titles = connection.execute(
            f"select page_title from {SPEC.raw_table} where window_start = ? order by record_no", (HOUR,)
        )
    assert counts == {"source": 3, "stage": 2, "quarantined": 1}
    assert quarantined == [
        (2, "en Nul\\x00Title 5 50", "NUL byte at byte 6 (text the raw table cannot hold)")
    ]
    assert titles == [("Main_Page",), ("Berlin",)]


def _partitions(connection) -> list[tuple[str, str]]:
    return connection.execute(
        "select c.relname, pg_get_expr(c.relpartbound, c.oid) from pg_inherits i"
        " join pg_class c on c.oid = i.inhrelid where i.inhparent = to_regclass(?) order by 1",
        (SPEC.raw_table,),
    )


def test_each_window_has_its_own_partition_and_a_rerun_truncates_it(postgres_warehouse):
    # A re-run truncates the window's partition: no dead rows left behind, the other window untouched.
    from de_sandbox.embedded.report import warehouse_tables
    from de_sandbox.portal.catalog import estimated_rows, list_tables
    from de_sandbox.settings import get_settings
    from de_sandbox.warehouse import connect

    for start in (HOUR, NEXT, HOUR):
        end = start + timedelta(hours=1)
        load(SPEC, start, end, extract(SPEC, start, end, "part"), "part")

    with connect() as connection:
        partitions = _partitions(connection)
        counts = connection.execute(
            f"select window_start, count(*) from {SPEC.raw_table} group by 1 order by 1"
        )
        dead = connection.execute(
            "select relname, n_live_tup, n_dead_tup from pg_stat_user_tables where relname like ?",
            ("wikipedia_pageviews__w%",),
        )
        listed = [(t.schema, t.name) for t in list_tables(connection) if t.schema == "raw"]
        estimate = estimated_rows(connection, "raw", "wikipedia_pageviews")
        # The rows were copied straight into the partition with the window, file and load time as the columns'
        # defaults for that copy only.
        defaults = connection.execute(
            "select column_name, column_default from information_schema.columns"
            " where table_schema = 'raw' and table_name like ? and column_default is not null",
            ("wikipedia_pageviews%",),
        )
        lineage = connection.execute(
            f"select window_start, count(distinct source_file), count(distinct loaded_at) from {SPEC.raw_table}"
            " where source_file like ? group by 1 order by 1",
            ("s3://%",),
        )
    assert partitions == [
        ("wikipedia_pageviews__w20260101090000", "FOR VALUES IN ('2026-01-01 09:00:00')"),
        ("wikipedia_pageviews__w20260101100000", "FOR VALUES IN ('2026-01-01 10:00:00')"),
    ]
    assert counts == [(HOUR, 300), (NEXT, 300)]
    assert sorted(n for _, n, _ in dead) == [300, 300] and all(n == 0 for _, _, n in dead), dead
    # The catalog shows the table once, not its partitions.
    assert listed == [("raw", "wikipedia_pageviews")]
    # So does the run summary's table of the warehouse (make run / make demo), with the exact count.
    reported = [(s, t, n) for s, t, n in warehouse_tables(get_settings()) if s == "raw"]
    assert reported == [("raw", "wikipedia_pageviews", 600)]
    # A large table's row count in the portal is this estimate: the partitions' own, made by their loads.
    assert estimate == 600
    assert defaults == []
    assert lineage == [(HOUR, 1, 1), (NEXT, 1, 1)]


def test_a_raw_table_from_before_partitioning_still_replaces_its_window(postgres_warehouse):
    # A warehouse kept from an older sandbox has a plain raw table: its windows are deleted and reloaded.
    from de_sandbox.warehouse import connect

    with connect() as connection:
        connection.execute("create schema if not exists raw")
        connection.execute(SPEC.raw_ddl)
    for _ in range(2):
        load(SPEC, HOUR, NEXT, extract(SPEC, HOUR, NEXT, "plain"), "plain")
    with connect() as connection:
        assert _partitions(connection) == []
        assert connection.scalar(f"select count(*) from {SPEC.raw_table}") == 300


def test_dbt_s_unique_test_on_postgres_fails_with_dbt_s_own_failing_rows(postgres_warehouse, tmp_path):
    # dbt/macros/test_unique.sql replaces dbt's query on PostgreSQL: the same failing rows, found faster.
    from de_sandbox.warehouse import connect

    window = (f"{HOUR:%Y-%m-%d %H:%M:%S}", f"{NEXT:%Y-%m-%d %H:%M:%S}")
    load(SPEC, HOUR, NEXT, extract(SPEC, HOUR, NEXT, "unique"), "unique")
    run_dbt(tmp_path, "tag:wikipedia", *window)
    dim = "marts.dim_wikipedia_pages"
    with connect() as connection:
        # Two duplicated pages, one of them three times.
        for limit in (2, 1):
            connection.execute(f"insert into {dim} select * from {dim} order by page_key limit {limit}")
        dbt_s_own = connection.execute(
            f"select page_key, count(*) from {dim} where page_key is not null group by page_key having count(*) > 1"
        )

    result = run_dbt(
        tmp_path, "dim_wikipedia_pages", *window, command="test", extra=("--store-failures",), check=False
    )

    assert result.returncode == 1, result.stdout[-3000:]
    results = json.loads((tmp_path / "dbt-target" / "run_results.json").read_text())["results"]
    outcome = {r["unique_id"].split(".")[2]: (r["status"], r["failures"]) for r in results}
    audit = next(
        r["relation_name"] for r in results if ".unique_dim_wikipedia_pages_page_key." in r["unique_id"]
    )
    assert outcome["unique_dim_wikipedia_pages_page_key"] == ("fail", 2)
    assert outcome["not_null_dim_wikipedia_pages_page_key"] == ("pass", 0)
    compiled = next((tmp_path / "dbt-target" / "compiled").rglob("unique_dim_wikipedia_pages_page_key.sql"))
    assert "surplus_rows" in compiled.read_text()
    with connect() as connection:
        stored = connection.execute(f"select unique_field, n_records from {audit}")
    assert sorted(map(tuple, stored)) == sorted(map(tuple, dbt_s_own)) and len(dbt_s_own) == 2


def test_a_new_window_is_planned_at_its_real_size(postgres_warehouse):
    # Autovacuum is kept out of it: the statistics the planner sees for the new window are the load's own.
    from de_sandbox.warehouse import connect, window_partition

    for start in (HOUR, NEXT):
        end = start + timedelta(hours=1)
        load(SPEC, start, end, extract(SPEC, start, end, "plan"), "plan")
        with connect() as connection:
            connection.execute(
                f"alter table {window_partition(SPEC.raw_table, start)} set (autovacuum_enabled = false)"
            )
    with connect() as connection:
        ((plan,),) = connection.execute(
            f"explain (format json) select * from {SPEC.raw_table} where window_start >= %s and window_start < %s",
            (NEXT, NEXT + timedelta(hours=1)),
        )

    # 300 rows; without statistics that include the window, PostgreSQL guessed 1.
    assert 150 <= plan[0]["Plan"]["Plan Rows"] <= 600, plan


def _two_block_stage():
    import duckdb

    stage = duckdb.connect()
    stage.execute(
        "create table good as select range as record_no, 'page_' || range as title from range(50000)"
    )
    stage.execute("create table bad as select range as record_no, null as title from range(3)")
    return stage


def test_raw_blocks_are_copied_in_behind_the_staging_and_all_arrive(postgres_warehouse, tmp_path):
    from de_sandbox.ingestion.bulk import RawTarget
    from de_sandbox.warehouse import connect

    stage, loaded_at = _two_block_stage(), datetime(2026, 1, 1, 10)
    with connect() as connection:
        connection.execute(
            "create temporary table raw_blocks (record_no bigint, title text not null, hour text, loaded_at timestamp)"
        )
        target = RawTarget(connection, "raw_blocks", loaded_at, tmp_path)
        try:
            handed = [target.insert(stage, "good", ["record_no", "title"], {"hour": f"h{n}"}) for n in (1, 2)]
            target.flush()
        finally:
            target.close()
        rows = connection.execute(
            "select hour, count(*), min(loaded_at) from raw_blocks group by hour order by hour"
        )
    assert handed == [50000, 50000]
    assert rows == [("h1", 50000, loaded_at), ("h2", 50000, loaded_at)]
    assert list(tmp_path.glob("*.csv")) == []


def test_a_raw_block_the_server_refuses_fails_the_load_and_leaves_no_block_file(postgres_warehouse, tmp_path):
    import psycopg2

    from de_sandbox.ingestion.bulk import RawTarget
    from de_sandbox.warehouse import connect

    stage = _two_block_stage()
    with pytest.raises(psycopg2.errors.NotNullViolation), connect() as connection:
        connection.execute(
            "create table public.raw_refused (record_no bigint, title text not null, loaded_at timestamp)"
        )
        target = RawTarget(connection, "public.raw_refused", datetime(2026, 1, 1, 10), tmp_path)
        try:
            target.insert(stage, "bad", ["record_no", "title"], {})
            # The refusal surfaces at the next hand-over at the latest, never later than flush.
            target.insert(stage, "good", ["record_no", "title"], {})
            target.flush()
        finally:
            target.close()
    with connect() as connection:
        assert not connection.table_exists("public", "raw_refused")
    assert list(tmp_path.glob("*.csv")) == []
