"""The local PostgreSQL cluster: role, both databases, one schema per layer; idempotent start and stop."""

from __future__ import annotations

from contextlib import closing

import pytest

from de_sandbox.native.postgres import WAREHOUSE_SCHEMAS, LocalPostgres, reachable_tmp_dir
from de_sandbox.native.processes import free_port, is_listening

pytestmark = pytest.mark.integration


def test_server_has_role_databases_and_layer_schemas(postgres_server):
    with closing(postgres_server.connect(postgres_server.warehouse_db)) as conn, conn.cursor() as cur:
        cur.execute("select schema_name from information_schema.schemata")
        schemas = {row[0] for row in cur.fetchall()}
        cur.execute("select datname from pg_database")
        databases = {row[0] for row in cur.fetchall()}
        cur.execute("select inet_server_addr()::text")
        server_addr = cur.fetchone()[0]
    assert set(WAREHOUSE_SCHEMAS) <= schemas
    assert {postgres_server.airflow_db, postgres_server.warehouse_db} <= databases
    assert server_addr.startswith("127.0.0.1")


def test_start_is_idempotent_and_stop_frees_the_port():
    root = reachable_tmp_dir("de-sandbox-pg-cycle-")
    server = LocalPostgres(root / "postgres", free_port(), "cycle", "pw-1", "af", "wh")
    try:
        server.start()
        server.start()
        assert is_listening(server.port)
        server.stop()
        assert not is_listening(server.port)
        # A new password in .env must take effect on the next start of the same cluster.
        rotated = LocalPostgres(root / "postgres", server.port, "cycle", "pw-2", "af", "wh")
        rotated.start()
        with closing(rotated.connect("af")) as conn, conn.cursor() as cur:
            cur.execute("select current_user")
            assert cur.fetchone()[0] == "cycle"
    finally:
        server.wipe()
        root.rmdir()
    assert not server.cluster_dir.exists()
    assert not is_listening(server.port)
