"""The warehouse connection on a real PostgreSQL server: creators of the same missing table take turns."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from de_sandbox.warehouse import connect

pytestmark = pytest.mark.integration

TABLE = "concurrent_ddl.created_once"
DDL = ("create schema if not exists concurrent_ddl", f"create table if not exists {TABLE} (n integer)")


def _create_together(sessions: int, create) -> list[BaseException | None]:
    """Each session creates the table in its own transaction, all at once, and commits a moment later."""
    barrier = threading.Barrier(sessions)

    def one(n: int) -> BaseException | None:
        try:
            with connect() as connection:
                barrier.wait()
                create(connection)
                connection.execute(f"insert into {TABLE} values (?)", (n,))
                time.sleep(0.5)  # the others reach the catalog while this transaction is open
        except Exception as error:  # noqa: BLE001  (collected and asserted on below)
            return error
        return None

    with ThreadPoolExecutor(sessions) as pool:
        return list(pool.map(one, range(sessions)))


@pytest.fixture
def postgres_warehouse(postgres_server, monkeypatch):
    for name, value in {**postgres_server.env(), "WAREHOUSE": "postgres"}.items():
        monkeypatch.setenv(name, value)
    with connect() as connection:
        connection.execute("drop schema if exists concurrent_ddl cascade")
    return postgres_server


def test_plain_if_not_exists_races_on_the_catalog(postgres_warehouse):
    """Why create_missing exists: PostgreSQL's `if not exists` alone fails all but one concurrent creator."""
    errors = _create_together(4, lambda c: [c.execute(statement) for statement in DDL])
    assert any(error is not None for error in errors), "expected a unique violation on the catalog"


def test_create_missing_lets_concurrent_creators_take_turns(postgres_warehouse):
    errors = _create_together(4, lambda c: c.create_missing((TABLE,), DDL))
    assert errors == [None] * 4
    with connect() as connection:
        assert connection.scalar(f"select count(*) from {TABLE}") == 4
