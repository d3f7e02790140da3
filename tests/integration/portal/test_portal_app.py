"""The portal app on real warehouses (a DuckDB file, the session's PostgreSQL) under Airflow's real JWT auth:
API shapes and counts, refusals of every route without a valid login, bad names, docs paths, a busy DuckDB."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest
from portal_helpers import BIG_ROWS, QUARANTINE_REASONS

from de_sandbox.portal import catalog

pytestmark = pytest.mark.integration

PAGES = [
    "/sandbox/",
    "/sandbox/overview",
    "/sandbox/health",
    "/sandbox/pipelines",
    "/sandbox/data",
    "/sandbox/data/big/events",
    "/sandbox/quality",
    "/sandbox/docs",
    "/sandbox/docs/dbt/",
    "/sandbox/docs/gx/index.html",
    "/sandbox/static/portal.css",
]
API = [
    "/sandbox/api/health",
    "/sandbox/api/tables",
    "/sandbox/api/tables/big/events?limit=5",
    "/sandbox/api/pipelines",
    "/sandbox/api/quality",
]


@pytest.mark.parametrize("path", PAGES + API)
@pytest.mark.parametrize(("credential", "status"), [(None, 401), ("expired", 401), ("forged", 403)])
def test_every_route_refuses_a_missing_expired_or_forged_token(
    portal, duckdb_settings, portal_tokens, path, credential, status
):
    client = portal(duckdb_settings)
    headers = {"Authorization": f"Bearer {portal_tokens[credential]}"} if credential else {}
    response = client.get(path, headers=headers, follow_redirects=False)
    assert response.status_code == status, response.text
    assert "rows" not in response.text and "<svg" not in response.text
    # A browser asking for a page with the same credential in Airflow's cookie is sent to Airflow's login.
    if credential:
        client.cookies.set("_token", portal_tokens[credential])
    page = client.get(path, headers={"accept": "text/html"}, follow_redirects=False)
    if "/api/" in path:
        assert page.status_code == status
    else:
        assert page.status_code == 303
        assert page.headers["location"].startswith("/auth/login?next=")


def test_the_ui_cookie_and_the_bearer_token_both_let_in(portal, duckdb_settings, portal_tokens, auth):
    client = portal(duckdb_settings)
    assert client.get("/sandbox/api/tables", headers=auth).status_code == 200
    client.cookies.set("_token", portal_tokens["valid"])
    assert client.get("/sandbox/overview").status_code == 200


def test_tables_lists_every_table_and_view_with_exact_duckdb_counts(portal, duckdb_settings, auth):
    body = portal(duckdb_settings).get("/sandbox/api/tables", headers=auth).json()
    assert body["warehouse"] == "duckdb"
    found = {(t["schema"], t["name"]): t for t in body["tables"]}
    assert set(found[("big", "events")]) == {"schema", "name", "kind", "rows"}
    assert found[("big", "events")]["kind"] == "table" and found[("big", "events")]["rows"] == BIG_ROWS
    assert found[("big", "recent")] == {"schema": "big", "name": "recent", "kind": "view", "rows": None}
    with duckdb.connect(str(duckdb_settings.duckdb_path), read_only=True) as connection:
        for schema, name in (("ops", "run_ledger"), ("ops", "quarantine")):
            expected = connection.execute(f"select count(*) from {schema}.{name}").fetchone()[0]
            assert found[(schema, name)]["rows"] == expected > 0


def test_a_page_of_a_six_million_row_table_is_fast_and_limit_is_clamped(portal, duckdb_settings, auth):
    client = portal(duckdb_settings)
    started = time.perf_counter()
    body = client.get("/sandbox/api/tables/big/events?limit=50&offset=5000000", headers=auth).json()
    elapsed = time.perf_counter() - started
    assert body["columns"] == [
        {"name": "id", "type": "BIGINT"},
        {"name": "label", "type": "VARCHAR"},
        {"name": "bucket", "type": "BIGINT"},
    ]
    assert body["total_rows"] == BIG_ROWS
    assert [row[0] for row in body["rows"]] == list(range(5_000_000, 5_000_050))
    assert body["rows"][0] == [5_000_000, "event 5000000", 5_000_000 % 7]
    assert elapsed < 1.0, f"a page of the 6M-row table took {elapsed:.2f} s"
    print(f"[timing] portal api page of {BIG_ROWS:,} rows (duckdb): {elapsed * 1000:.0f} ms")
    clamped = client.get("/sandbox/api/tables/big/events?limit=100000", headers=auth).json()
    assert len(clamped["rows"]) == catalog.MAX_PAGE_ROWS


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/sandbox/api/tables/nope/events", "no schema named 'nope'"),
        ("/sandbox/api/tables/big/nope", "no table or view named 'nope' in schema 'big'"),
        ('/sandbox/api/tables/big/events"; drop table big.events; --', "no table or view named"),
        ("/sandbox/api/tables/big/events%3B", "no table or view named 'events;'"),
        ("/sandbox/api/tables/big%22.%22events/x", "no schema named"),
        ("/sandbox/api/tables/big/events'", 'no table or view named "events\'"'),
        ("/sandbox/data/..%2F..%2Fetc/passwd", "no such page: /sandbox/data/../../etc/passwd"),
    ],
)
def test_unknown_or_malicious_names_are_a_clear_404(portal, duckdb_settings, auth, path, message):
    response = portal(duckdb_settings).get(path, headers=auth)
    assert response.status_code == 404
    assert message in response.json()["detail"]
    with duckdb.connect(str(duckdb_settings.duckdb_path), read_only=True) as connection:
        assert connection.execute("select count(*) from big.events").fetchone()[0] == BIG_ROWS


def test_bad_paging_values_are_refused_with_a_message(portal, duckdb_settings, auth):
    client = portal(duckdb_settings)
    response = client.get("/sandbox/api/tables/big/events?limit=abc", headers=auth)
    assert response.status_code == 422 and "limit" in response.json()["detail"]
    response = client.get("/sandbox/api/tables/big/events?offset=-1", headers=auth)
    assert response.status_code == 422 and "offset" in response.json()["detail"]


def test_pipelines_reports_the_ledger_and_quarantine(portal, duckdb_settings, auth):
    body = portal(duckdb_settings).get("/sandbox/api/pipelines", headers=auth).json()
    (pipeline,) = body["pipelines"]
    assert pipeline["pipeline"] == "wikipedia_pageviews"
    latest, first = pipeline["windows"]
    assert latest["window_start"] == "2026-03-01 11:00:00" and latest["status"] == "failed"
    assert first["status"] == "success" and first["run_id"] == "run_0"
    assert {name: p["status"] for name, p in latest["phases"].items()} == {
        "extract": "success",
        "load": "success",
        "audit": "failed",
    }
    assert "stage 100 != target 90" in latest["phases"]["audit"]["error"]
    assert (first["rows_source"], first["rows_stage"], first["rows_target"], first["rows_quarantined"]) == (
        103,
        100,
        100,
        3,
    )
    assert first["attempts"] == 1 and first["duration_seconds"] >= 0
    reasons = {r["reason"]: r["count"] for r in body["quarantine"]["reasons"]}
    assert reasons == QUARANTINE_REASONS
    assert {s["raw_record"] for s in body["quarantine"]["samples"]} == {
        "raw line 0",
        "raw line 1",
        "raw line 2",
    }


def test_pages_show_what_the_warehouse_and_facts_hold(portal, duckdb_settings, auth):
    client = portal(duckdb_settings)
    overview = client.get("/sandbox/overview", headers=auth).text
    assert overview.count("<svg") == 4 and "200</span> rows loaded" in overview
    assert "wikipedia_pageviews 2026-03-01 10:00:00: 100 rows loaded, 3 quarantined (success)" in overview
    pipelines = client.get("/sandbox/pipelines", headers=auth).text
    assert all(reason.replace("'", "&#39;") in pipelines for reason in QUARANTINE_REASONS)
    assert 'href="/dags/wikipedia_pageviews/runs/run_0"' in pipelines
    data = client.get("/sandbox/data", headers=auth).text
    assert 'data-rows="6000000"' in data and 'href="/sandbox/data/big/events"' in data
    table = client.get("/sandbox/data/big/events?limit=2000&offset=10", headers=auth).text
    assert table.count("<tr>") == 2 + 3 + 1000  # two header rows, three columns, one clamped page
    assert "event 10<" in table and 'rel="next"' in table and 'rel="prev"' in table
    quality = client.get("/sandbox/quality", headers=auth).text
    assert 'data-suite="fct_pageviews"' in quality and ">stale<" in quality and ">fresh<" in quality
    assert client.get("/sandbox/api/quality", headers=auth).json()["history"][-1]["rate"] == 0.8


def test_a_busy_duckdb_answers_503_at_once_naming_the_writer(portal, duckdb_settings, auth):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb\n"
            f"c = duckdb.connect({str(duckdb_settings.duckdb_path)!r})\n"
            "print('holding', flush=True)\n"
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        client = portal(duckdb_settings)
        for path in ("/sandbox/api/tables", "/sandbox/api/tables/big/events", "/sandbox/api/pipelines"):
            started = time.perf_counter()
            response = client.get(path, headers=auth)
            elapsed = time.perf_counter() - started
            assert response.status_code == 503, response.text
            assert elapsed < 1.0
            assert "busy" in response.json()["detail"] and f"PID {holder.pid}" in response.json()["detail"]
            assert response.headers["retry-after"] == "5"
        page = client.get("/sandbox/data", headers={**auth, "accept": "text/html"})
        assert page.status_code == 503 and "is busy" in page.text and "Traceback" not in page.text
    finally:
        holder.kill()
        holder.wait()
    # The portal held no lock: a writer opens the file as soon as the holder is gone.
    duckdb.connect(str(duckdb_settings.duckdb_path)).close()


def test_docs_are_served_behind_the_login_and_paths_cannot_leave_the_site(
    portal, duckdb_settings, auth, tmp_path
):
    import dataclasses

    from de_sandbox.dbt.project import artifacts_dir

    settings = dataclasses.replace(duckdb_settings, data_dir=tmp_path / "data", gx_root_dir=tmp_path / "gx")
    client = portal(settings)
    assert "not generated yet" in client.get("/sandbox/docs/dbt/", headers=auth).json()["detail"]
    site = settings.gx_root_dir / "uncommitted" / "data_docs" / "local_site"
    (site / "validations").mkdir(parents=True)
    (site / "index.html").write_text("<h1>GX data docs</h1>")
    (site / "validations" / "run.html").write_text("<p>one validation</p>")
    (tmp_path / "secret.txt").write_text("do not serve")
    dbt_docs = artifacts_dir(settings) / "docs" / "static_index.html"
    dbt_docs.parent.mkdir(parents=True)
    dbt_docs.write_text("<title>dbt Docs</title>")
    assert client.get("/sandbox/docs/dbt/", headers=auth).text == "<title>dbt Docs</title>"
    assert "GX data docs" in client.get("/sandbox/docs/gx/index.html", headers=auth).text
    assert "one validation" in client.get("/sandbox/docs/gx/validations/run.html", headers=auth).text
    for evil in (
        "/sandbox/docs/gx/..%2F..%2F..%2Fsecret.txt",
        "/sandbox/docs/gx/validations/..%2F..%2F..%2F..%2Fsecret.txt",
        "/sandbox/docs/gx/%2Fetc%2Fpasswd",
        "/sandbox/docs/gx/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    ):
        response = client.get(evil, headers=auth)
        assert response.status_code == 404, evil
        assert "no such docs page" in response.json()["detail"]
        assert "do not serve" not in response.text


def test_query_time_limit_cancels_long_queries(duckdb_settings, postgres_settings):
    with pytest.raises(catalog.QueryTimeout, match="longer than 0.2 s"):
        with catalog.read_only(duckdb_settings, timeout=0.2) as connection:
            connection.execute("select sum(hash(a.range * b.range)) from range(100000) a, range(100000) b")
    with pytest.raises(catalog.QueryTimeout, match="longer than 0.2 s"):
        with catalog.read_only(postgres_settings, timeout=0.2) as connection:
            connection.execute("select pg_sleep(3)")


def test_postgres_warehouse_serves_the_same_shapes(portal, postgres_settings, auth):
    from de_sandbox.warehouse import connect

    with connect(postgres_settings) as connection:
        connection.execute("create schema if not exists demo")
        connection.execute("drop table if exists demo.items")
        connection.execute(
            "create table demo.items as select g as id, 'item ' || g as label from generate_series(1, 2500) g"
        )
        connection.execute(
            "create or replace view demo.first_items as select * from demo.items where id <= 3"
        )
    client = portal(postgres_settings)
    body = client.get("/sandbox/api/tables", headers=auth).json()
    assert body["warehouse"] == "postgres"
    found = {(t["schema"], t["name"]): t for t in body["tables"]}
    assert found[("demo", "items")] == {"schema": "demo", "name": "items", "kind": "table", "rows": 2500}
    assert found[("demo", "first_items")]["kind"] == "view"
    assert found[("ops", "quarantine")]["rows"] == sum(QUARANTINE_REASONS.values())
    page = client.get("/sandbox/api/tables/demo/items?limit=2&offset=2498", headers=auth).json()
    assert page == {
        "columns": [{"name": "id", "type": "integer"}, {"name": "label", "type": "text"}],
        "rows": [[2499, "item 2499"], [2500, "item 2500"]],
        "total_rows": 2500,
    }
    assert client.get("/sandbox/api/tables/demo/items;drop", headers=auth).status_code == 404
    pipelines = client.get("/sandbox/api/pipelines", headers=auth).json()
    assert [w["status"] for w in pipelines["pipelines"][0]["windows"]] == ["failed", "success"]


def test_health_checks_real_services_and_reports_stopped_ones(postgres_settings, monkeypatch, tmp_path):
    from de_sandbox.portal.health import native_probes, service_states

    settings = __import__("dataclasses").replace(
        postgres_settings, data_dir=tmp_path, airflow_db=postgres_settings.warehouse_db
    )
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MINIO_ENDPOINT", "127.0.0.1:9")
    states = {s.name: s for s in service_states(settings, native_probes(settings))}
    assert list(states) == [
        "postgres",
        "api-server",
        "scheduler",
        "dag-processor",
        "triggerer",
        "object-store",
        "prometheus",
        "exporter",
    ]
    assert states["postgres"].status == "healthy" and "select 1 on" in states["postgres"].detail
    assert all(states[name].status == "stopped" for name in list(states)[1:])
