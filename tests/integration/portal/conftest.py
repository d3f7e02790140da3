"""The portal app under Airflow's real auth manager (JWTs it signs and validates) on real warehouses and facts."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from portal_helpers import BIG_ROWS, QUARANTINE_REASONS, WINDOW

from de_sandbox.ingestion import ledger
from de_sandbox.metrics import facts
from de_sandbox.settings import get_settings

JWT_SECRET = "portal-tests-jwt-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def portal_tokens(embedded_airflow, tmp_path_factory):
    """Airflow's SimpleAuthManager initialised as the api-server does it: a valid, an expired, a forged JWT."""
    home = tmp_path_factory.mktemp("portal-auth")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", JWT_SECRET)
        patch.setenv(
            "AIRFLOW__CORE__AUTH_MANAGER",
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        )
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "admin:admin")
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(home / "passwords.json"))
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
        from airflow.api_fastapi.app import init_auth_manager, purge_cached_app
        from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

        manager = init_auth_manager()
        admin = SimpleAuthManagerUser(username="admin", role="admin")
        valid = manager.generate_jwt(admin)
        claims = jwt.decode(valid, options={"verify_signature": False})
        expired = jwt.encode(
            {
                **claims,
                "iat": int(time.time()) - 7200,
                "nbf": int(time.time()) - 7200,
                "exp": int(time.time()) - 3600,
            },
            JWT_SECRET,
            algorithm="HS512",
        )
        forged = jwt.encode(claims, "somebody-elses-secret-0123456789abcdef", algorithm="HS512")
        yield {"valid": valid, "expired": expired, "forged": forged}
        purge_cached_app()


def write_ledger_and_quarantine() -> None:
    """Two windows of a pipeline through the real ledger API (one failed audit), and quarantined records."""
    for hour, audit_fails in ((0, False), (1, True)):
        start = WINDOW + timedelta(hours=hour)
        end = start + timedelta(hours=1)
        with ledger.phase("wikipedia_pageviews", start, end, "extract", f"run_{hour}") as record:
            record.rows_source = 103
        with ledger.phase("wikipedia_pageviews", start, end, "load", f"run_{hour}") as record:
            record.rows_source, record.rows_stage, record.rows_quarantined = 103, 100, 3
        try:
            with ledger.phase("wikipedia_pageviews", start, end, "audit", f"run_{hour}") as record:
                record.rows_target = 100
                if audit_fails:
                    raise ValueError("stage 100 != target 90")
        except ValueError:
            pass
    rows = [
        ("wikipedia_pageviews", WINDOW, "pageviews-20260301-100000.gz", n, f"raw line {n}", reason, WINDOW)
        for n, reason in enumerate(r for r, count in QUARANTINE_REASONS.items() for _ in range(count))
    ]
    from de_sandbox.warehouse import connect

    with connect() as connection:
        connection.insert_rows(
            ledger.QUARANTINE_TABLE,
            (
                "pipeline",
                "window_start",
                "source_file",
                "record_no",
                "raw_record",
                "reason",
                "quarantined_at",
            ),
            rows,
        )


@pytest.fixture(scope="session")
def duckdb_settings(tmp_path_factory):
    """A DuckDB warehouse with a ledger, quarantine, a view and a 6-million-row table made with range()."""
    import duckdb

    folder = tmp_path_factory.mktemp("portal-duckdb")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WAREHOUSE", "duckdb")
        patch.setenv("DUCKDB_PATH", str(folder / "warehouse.duckdb"))
        settings = get_settings()
        write_ledger_and_quarantine()
    connection = duckdb.connect(str(settings.duckdb_path))
    try:
        connection.execute("create schema big")
        connection.execute(
            f"create table big.events as select range as id, 'event ' || range as label,"
            f" range % 7 as bucket from range({BIG_ROWS})"
        )
        connection.execute("create view big.recent as select * from big.events where id >= 5999990")
    finally:
        connection.close()
    return settings


@pytest.fixture(scope="session")
def facts_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("portal-facts") / "facts.sqlite"
    now = time.time()
    with facts.connect(db) as conn:
        conn.executemany(
            "insert into gx_results (recorded_at, dag_id, run_id, suite, success, evaluated, passed, failed)"
            " values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (now - 120, "wikipedia_pageviews", "run_0", "fct_pageviews", 1, 5, 5, 0),
                (now - 60, "wikipedia_pageviews", "run_1", "fct_pageviews", 0, 5, 4, 1),
            ],
        )
        conn.executemany(
            "insert into dbt_results (recorded_at, dag_id, run_id, invocation_id, unique_id, resource_type,"
            " name, model, status) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    now - 90,
                    "example_pipeline",
                    "run_a",
                    "inv_a",
                    "test.p.not_null_x",
                    "test",
                    "not_null_x",
                    "stg_x",
                    "pass",
                ),
                (
                    now - 90,
                    "example_pipeline",
                    "run_a",
                    "inv_a",
                    "test.p.unique_x",
                    "test",
                    "unique_x",
                    "stg_x",
                    "fail",
                ),
            ],
        )
    facts.record_freshness("wikipedia", "pageviews", now - 600, 3600, db=db)
    facts.record_freshness("parking", "occupancy", now - 7200, 3600, db=db)
    return db


@pytest.fixture(scope="session")
def postgres_settings(postgres_server):
    """The session's real PostgreSQL, in a warehouse database of its own (other tests write theirs), with the
    same ledger and quarantine written to it."""
    from contextlib import closing

    database = "portal_warehouse"
    with closing(postgres_server.connect("postgres")) as conn, conn.cursor() as cur:
        cur.execute(f"drop database if exists {database}")
        cur.execute(f"create database {database}")
    settings = dataclasses.replace(
        get_settings(),
        warehouse="postgres",
        postgres_host=postgres_server.host,
        postgres_port=postgres_server.port,
        postgres_user=postgres_server.user,
        postgres_password=postgres_server.password,
        warehouse_db=database,
    )
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            **postgres_server.env(),
            "WAREHOUSE": "postgres",
            "WAREHOUSE_DB": database,
        }.items():
            patch.setenv(name, value)
        write_ledger_and_quarantine()
    return settings


@pytest.fixture
def portal(portal_tokens, facts_db):
    """portal(settings) -> a TestClient on the portal mounted at /sandbox as Airflow mounts it."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from de_sandbox.portal.app import create_app

    def client_for(settings, db: Path = facts_db) -> TestClient:
        root = FastAPI()
        root.mount("/sandbox", create_app(settings=lambda: settings, facts_db=lambda: db))
        return TestClient(root)

    return client_for


@pytest.fixture
def auth(portal_tokens) -> dict[str, str]:
    return {"Authorization": f"Bearer {portal_tokens['valid']}"}
