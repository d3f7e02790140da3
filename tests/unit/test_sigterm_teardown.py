"""A pytest session stopped by SIGTERM still tears its fixtures down (tests/helpers/sigterm_teardown.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]

SESSION = """
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def platform():
    (HERE / "started").write_text("")
    try:
        yield
    finally:
        (HERE / "torn_down").write_text("")


def test_runs_long(platform):
    time.sleep(60)
"""


def test_sigterm_stops_the_session_and_tears_fixtures_down(tmp_path):
    (tmp_path / "test_session.py").write_text(SESSION)
    env = {**os.environ, "PYTHONPATH": str(TESTS_DIR)}
    session = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "helpers.sigterm_teardown",
            "-p",
            "no:cacheprovider",
            "test_session.py",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "started").exists():
        assert session.poll() is None and time.monotonic() < deadline, session.communicate()[0]
        time.sleep(0.1)
    session.send_signal(signal.SIGTERM)
    output = session.communicate(timeout=30)[0]
    assert (tmp_path / "torn_down").exists(), output
    assert session.returncode != 0 and "stopped by signal 15" in output, output
