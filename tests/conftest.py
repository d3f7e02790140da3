"""Shared pytest fixtures: only the throwaway PostgreSQL server lives here; others stay beside their tests."""

from __future__ import annotations

import shutil

import pytest

from de_sandbox.ports import free_port
from de_sandbox.postgres import LocalPostgres, reachable_tmp_dir


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on a free loopback port for the whole test session, wiped afterwards.

    Yields a LocalPostgres: host, port, user, password, airflow_db, warehouse_db, url(db), connect(db), env().
    """
    root = reachable_tmp_dir("de-sandbox-pg-")
    server = LocalPostgres(
        cluster_dir=root / "postgres",
        port=free_port(),
        user="sandbox_test",
        password="test-password",
        airflow_db="airflow",
        warehouse_db="warehouse",
    )
    try:
        server.start()
        yield server
    finally:
        server.wipe()
        shutil.rmtree(root, ignore_errors=True)
