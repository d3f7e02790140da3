"""Supervision of native services with real processes: a service killed with SIGKILL comes back with backoff and
its restart is recorded; stopping the platform's way (SIGTERM to the group) ends it for good."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from de_sandbox.native.keeper import describe_exit
from de_sandbox.native.spec import ServiceSpec
from de_sandbox.native.supervisor import Supervisor

pytestmark = pytest.mark.integration

# A stand-in service: prints its pid, then sleeps; children of the keeper live in its process group.
SERVICE = [
    sys.executable,
    "-c",
    "import os, time; print('service pid', os.getpid(), flush=True); time.sleep(600)",
]


def service_pid(supervisor: Supervisor, name: str, not_pid: int | None = None, timeout: float = 15) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = supervisor.keeper_state(name)
        if state and state.pid and state.pid != not_pid and Path(f"/proc/{state.pid}").exists():
            return state.pid
        time.sleep(0.1)
    raise TimeoutError(f"{name} not (re)started within {timeout} s:\n{supervisor.log_tail(name)}")


@pytest.fixture
def supervisor(tmp_path):
    sup = Supervisor(tmp_path)
    sup.run_dir.mkdir()
    sup.log_dir.mkdir()
    yield sup
    sup.stop(["svc"])


def test_a_killed_service_is_restarted_and_counted(supervisor):
    spec = ServiceSpec("svc", SERVICE, health=lambda: True)
    assert supervisor.start(spec, dict(os.environ))
    first = service_pid(supervisor, "svc")
    os.kill(first, signal.SIGKILL)
    killed_at = time.monotonic()
    second = service_pid(supervisor, "svc", not_pid=first)
    assert time.monotonic() - killed_at < 5, "first restart waits about one second, not more"
    state = supervisor.keeper_state("svc")
    assert (state.restarts, describe_exit(state.last_exit)) == (1, "killed by SIGKILL")
    assert "svc died (killed by SIGKILL)" in supervisor.log_file("svc").read_text()
    # Backoff doubles: a second crash right away waits two seconds.
    os.kill(second, signal.SIGKILL)
    killed_at = time.monotonic()
    service_pid(supervisor, "svc", not_pid=second)
    assert 1.8 < time.monotonic() - killed_at < 6
    assert supervisor.keeper_state("svc").restarts == 2


def test_stopping_ends_the_service_for_good(supervisor):
    spec = ServiceSpec("svc", SERVICE, health=lambda: True)
    supervisor.start(spec, dict(os.environ))
    pid = service_pid(supervisor, "svc")
    group = supervisor.running("svc")
    supervisor.stop(["svc"])
    time.sleep(2.5)  # longer than the first backoff: a keeper that restarted would have done so by now
    assert not group.group_members()
    assert not Path(f"/proc/{pid}").exists()
    assert supervisor.running("svc") is None
    assert supervisor.keeper_state("svc").restarts == 0


def test_a_service_that_dies_during_start_up_is_reported_not_looped(supervisor):
    spec = ServiceSpec("svc", [sys.executable, "-c", "raise SystemExit(3)"], health=lambda: False)
    supervisor.start(spec, dict(os.environ))
    with pytest.raises(RuntimeError, match=r"svc exited during start-up \(exit 3\)"):
        supervisor.wait_healthy([spec], timeout=20, started_now=frozenset({"svc"}))


def test_a_preloading_service_is_forked_from_its_keeper_without_importing_again(capfd):
    """The keeper imports what `de_sandbox.native.preload` preloads once; each (re)start is a fork of it."""
    from importlib.metadata import version

    from de_sandbox.native.keeper import PRELOAD_PREFIX, ForkedService, launcher

    start = launcher([*PRELOAD_PREFIX, "version"])
    for _ in range(2):
        started = time.monotonic()
        child = start()
        assert isinstance(child, ForkedService) and child.wait() == 0
        assert time.monotonic() - started < 8, "a forked restart skips the imports"
    out = capfd.readouterr()
    assert out.out.count(version("apache-airflow")) == 2
    assert "preloaded cosmos, dbt.cli.main" in out.err


def test_what_a_dead_service_forked_is_stopped_before_it_restarts(supervisor, tmp_path):
    """A scheduler's executor workers outlive a kill -9 of the scheduler and keep its database sessions (and row
    locks): the keeper stops them before the restart, as a restarted container would."""
    marker = tmp_path / "worker.pid"
    forking = [
        sys.executable,
        "-c",
        "import subprocess, sys, time; "
        f"w = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
        f"open({str(marker)!r}, 'w').write(str(w.pid)); time.sleep(600)",
    ]
    supervisor.start(ServiceSpec("svc", forking, health=lambda: True), dict(os.environ))
    first = service_pid(supervisor, "svc")
    deadline = time.monotonic() + 15
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    worker = int(marker.read_text())
    marker.unlink()
    os.kill(first, signal.SIGKILL)
    service_pid(supervisor, "svc", not_pid=first)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{worker}").exists() and "Z" not in Path(f"/proc/{worker}/stat").read_text().split()[2]:
        assert time.monotonic() < deadline, "the dead service's worker still runs after the restart"
        time.sleep(0.1)
    assert "1 leftover process(es) stopped" in supervisor.log_file("svc").read_text()
