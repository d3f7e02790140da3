"""The DuckDB writer lock: one writer at a time across processes, waiting (and saying so) while another holds it."""

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
