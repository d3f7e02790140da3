"""The example pipeline, same DAG file, on the Postgres warehouse: dag.test() builds the marts in Postgres."""

from __future__ import annotations

import os
import shutil
from contextlib import closing

import pytest

from de_sandbox.embedded.runner import run_dag
from de_sandbox.settings import REPO_ROOT, get_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.fixture
def postgres_warehouse_env(postgres_server, tmp_path):
    """WAREHOUSE=postgres on the session server; os.environ restored afterwards (run_dag exports into it)."""
    saved = dict(os.environ)
    # GX writes its Postgres checkpoints into its context: a copy keeps the repo's great_expectations/ clean.
    gx_root = shutil.copytree(
        REPO_ROOT / "great_expectations", tmp_path / "gx", ignore=shutil.ignore_patterns("uncommitted")
    )
    os.environ.update({**postgres_server.env(), "WAREHOUSE": "postgres", "GX_ROOT_DIR": str(gx_root)})
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
