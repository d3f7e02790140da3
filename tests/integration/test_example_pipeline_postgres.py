"""The example pipeline, same DAG file, on the Postgres warehouse: dag.test() builds the marts in Postgres."""

from __future__ import annotations

import os
from contextlib import closing

import pytest

from de_sandbox.runner import run_dag
from de_sandbox.settings import get_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.fixture
def postgres_warehouse_env(postgres_server):
    """WAREHOUSE=postgres on the session server; os.environ restored afterwards (run_dag exports into it)."""
    saved = dict(os.environ)
    os.environ.update({**postgres_server.env(), "WAREHOUSE": "postgres"})
    try:
        yield postgres_server
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_example_pipeline_builds_marts_in_postgres(postgres_warehouse_env):
    server = postgres_warehouse_env
    result = run_dag("example_pipeline", settings=get_settings())
    assert result.state == "success", [(t.task_id, t.state) for t in result.tasks if t.state != "success"]
    with closing(server.connect(server.warehouse_db)) as conn, conn.cursor() as cur:
        cur.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'staging', 'marts')"
        )
        tables = set(cur.fetchall())
        cur.execute("select count(*) from marts.fct_orders")
        fact_rows = cur.fetchone()[0]
    assert {("marts", "dim_customers"), ("marts", "fct_orders"), ("raw", "raw_orders")} <= tables
    assert ("staging", "stg_shop__orders") in tables
    assert fact_rows > 0
