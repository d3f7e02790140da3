"""The warehouse connection on a real PostgreSQL server: creators of the same missing table take turns; a window's
partition is made once and a load of one window holds up no other."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from de_sandbox.warehouse import connect, window_partition

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


WINDOWED = "concurrent_ddl.windowed"
HOURS = [datetime(2026, 1, 1, hour) for hour in (1, 2, 3)]


def _create_windowed(connection) -> None:
    ddl = f"create table if not exists {WINDOWED} (window_start timestamp not null, n integer)"
    connection.create_missing(
        (WINDOWED,),
        ("create schema if not exists concurrent_ddl", connection.windowed_ddl(ddl, "window_start")),
    )


def test_window_partitions_are_made_once_and_a_load_holds_up_no_other_window(postgres_warehouse):
    with connect() as connection:
        _create_windowed(connection)
    barrier = threading.Barrier(4)

    def ensure(n: int) -> str | None:
        with connect() as connection:
            barrier.wait()
            return connection.ensure_window_partition(WINDOWED, HOURS[n % 2])

    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(ensure, range(4)))
    assert made == [window_partition(WINDOWED, HOURS[n % 2]) for n in range(4)]

    # A load of hour 1 has truncated its partition and not committed yet: other sessions still make hour 3's
    # partition, reload hour 2 and read it, within a 2 s lock timeout.
    with connect() as loading:
        target = loading.clear_window(WINDOWED, "window_start", HOURS[0])
        loading.execute(f"insert into {target} values (?, 1)", (HOURS[0],))
        with connect() as other:
            other.execute("set local lock_timeout = '2s'")
            assert other.ensure_window_partition(WINDOWED, HOURS[2]) == window_partition(WINDOWED, HOURS[2])
        with connect() as other:
            other.execute("set local lock_timeout = '2s'")
            second = other.clear_window(WINDOWED, "window_start", HOURS[1])
            other.execute(f"insert into {second} values (?, 2)", (HOURS[1],))
            assert (
                other.scalar(
                    f"select count(*) from {WINDOWED} where window_start >= ? and window_start < ?",
                    (HOURS[1], HOURS[2]),
                )
                == 1
            )
    with connect() as connection:
        counts = connection.execute(f"select window_start, count(*) from {WINDOWED} group by 1 order by 1")
    assert counts == [(HOURS[0], 1), (HOURS[1], 1)]
