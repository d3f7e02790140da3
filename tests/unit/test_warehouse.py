"""The DuckDB writer lock: one writer at a time across processes, waiting (and saying so) while another holds it;
releasing the file dbt-duckdb holds in-process; the name of a window's PostgreSQL partition."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from de_sandbox.settings import get_settings
from de_sandbox.warehouse import duckdb_writer_lock, duckdb_writer_lock_path

HOLDER = Path(__file__).resolve().parents[1] / "helpers" / "flock_holder.py"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    return get_settings()


def held_elsewhere(path: Path) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, str(HOLDER), str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_the_lock_file_sits_beside_the_warehouse(settings):
    assert duckdb_writer_lock_path(settings) == settings.duckdb_path.with_name("warehouse.duckdb.writer.lock")


def test_a_writer_waits_for_another_process_and_says_so(settings, caplog):
    holder = held_elsewhere(duckdb_writer_lock_path(settings))
    entered = threading.Event()

    def write() -> None:
        with duckdb_writer_lock(settings):
            entered.set()

    with caplog.at_level(logging.INFO, logger="de_sandbox.warehouse"):
        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(1.0)
        assert not entered.is_set(), "the writer went in while another process held the lock"
        holder.stdin.close()
        holder.wait(timeout=10)
        writer.join(timeout=10)
    assert entered.is_set()
    assert "waiting for the DuckDB writer lock" in caplog.text


def test_the_lock_is_held_inside_and_free_after(settings):
    def another_process_takes_it() -> bool:
        path = duckdb_writer_lock_path(settings)
        return subprocess.run([sys.executable, str(HOLDER), "--try", str(path)]).returncode == 0

    with duckdb_writer_lock(settings):
        assert not another_process_takes_it()
    assert another_process_takes_it()


_RELEASE_PROBE = """
import subprocess
import sys
from de_sandbox.warehouse import release_dbt_duckdb
release_dbt_duckdb()
print("dbt loaded without dbt:", "dbt.adapters.duckdb" in sys.modules)
from dbt.adapters.duckdb import environments
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.duckdb.credentials import DuckDBCredentials
DuckDBConnectionManager._ENV = environments.create(DuckDBCredentials(path=sys.argv[1]))
DuckDBConnectionManager._ENV.handle().cursor().execute("create table t as select 1 as x")
writer = [sys.executable, "-c", f"import duckdb; duckdb.connect({sys.argv[1]!r}).execute('insert into t values (2)')"]
print("another process writes while dbt holds the file:", subprocess.run(writer, capture_output=True).returncode == 0)
release_dbt_duckdb()
print("and after the release:", subprocess.run(writer, capture_output=True).returncode == 0)
"""


def test_release_closes_dbt_s_file_and_imports_no_dbt_where_none_ran(tmp_path):
    """A process that never ran dbt has nothing to release (importing dbt-duckdb for it cost 1.1-1.5 s); one that
    did gets the file closed, so another process can write it."""
    probe = subprocess.run(
        [sys.executable, "-c", _RELEASE_PROBE, str(tmp_path / "warehouse.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert probe.stdout.splitlines() == [
        "dbt loaded without dbt: False",
        "another process writes while dbt holds the file: False",
        "and after the release: True",
    ], probe.stdout


def test_a_window_partition_name_fits_postgresql_and_keeps_the_window_whole():
    from datetime import datetime

    from de_sandbox.warehouse import MAX_IDENTIFIER, window_partition

    window = datetime(2026, 1, 1, 10, 5)
    assert window_partition("raw.wikipedia_pageviews", window) == "raw.wikipedia_pageviews__w20260101100500"
    # Long names are cut and told apart by a hash; the window's stamp is never cut (5-minute windows would clash).
    long_a, long_b = "raw." + "a" * 60 + "_one", "raw." + "a" * 60 + "_two"
    names = {window_partition(table, window).split(".")[1] for table in (long_a, long_b)}
    assert len(names) == 2
    assert all(len(name) == MAX_IDENTIFIER and name.endswith("__w20260101100500") for name in names)
