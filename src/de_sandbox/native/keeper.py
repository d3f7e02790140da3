"""Keeps one native service running, like compose's `restart: unless-stopped`: restarts it when it dies, with
backoff and a log line, and records restarts and the last exit status for `make local-status`.

    python -m de_sandbox.native.keeper --name scheduler --state run/scheduler.state.json -- airflow scheduler

The keeper leads the service's process group; `make local-down` signals the whole group, the keeper sees the
SIGTERM and lets the service stop for good. A preloading Airflow service (`python -m de_sandbox.native.preload
...`) is forked from the keeper, which imported Airflow, dbt and Cosmos once: a restart then skips ~10 s of
imports, and a killed scheduler is back within seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
# A service that ran this long before dying is restarted at once again: it was not crash-looping.
STABLE_AFTER_S = 60.0


@dataclass
class KeeperState:
    name: str
    pid: int | None = None
    restarts: int = 0
    last_exit: int | None = None
    last_exit_at: float | None = None

    @classmethod
    def read(cls, path: Path) -> KeeperState | None:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self)) + "\n")
        tmp.replace(path)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "-"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


PRELOAD_PREFIX = [sys.executable, "-m", "de_sandbox.native.preload"]


class ForkedService:
    """The part of Popen's interface the keeper uses, for a service forked from the keeper itself."""

    def __init__(self, run: Callable[[], object]) -> None:
        self.returncode: int | None = None
        self.pid = os.fork()
        if self.pid == 0:
            code = 1
            try:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    signal.signal(sig, signal.SIG_DFL)
                run()
                code = 0
            except SystemExit as end:
                code = end.code if isinstance(end.code, int) else (0 if end.code is None else 1)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        while self.returncode is None:
            try:
                _, status = os.waitpid(self.pid, 0)
            except InterruptedError:
                continue
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)


def launcher(argv: list[str]) -> Callable[[], subprocess.Popen | ForkedService]:
    """How to (re)start `argv`: preloading Airflow services fork from this process after one import of what they
    preload; anything else is started afresh."""
    if argv[: len(PRELOAD_PREFIX)] != PRELOAD_PREFIX:
        return lambda: subprocess.Popen(argv)
    from de_sandbox.native import preload

    preload.preload()
    args = argv[len(PRELOAD_PREFIX) :]
    return lambda: ForkedService(lambda: preload.main(args))


def kill_leftovers() -> int:
    """SIGKILL every other live process of the keeper's own process group; returns how many."""
    me, group = os.getpid(), os.getpgid(0)
    killed = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            pid = int(stat.parent.name)
            if int(fields[2]) == group and pid != me and fields[0] != "Z":
                os.kill(pid, signal.SIGKILL)
                killed += 1
        except (OSError, IndexError, ValueError):
            continue
    return killed


def keep(name: str, argv: list[str], state_file: Path) -> int:
    """Run `argv` until told to stop; restart it whenever it dies on its own."""
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child.poll() is None:
            child.send_signal(signum)

    state = KeeperState(name)
    backoff = FIRST_BACKOFF_S
    start = launcher(argv)
    child = start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        state.pid = child.pid
        state.write(state_file)
        started = time.monotonic()
        code = child.wait()
        state.last_exit, state.last_exit_at = code, time.time()
        state.write(state_file)
        # SIGTERM is how the platform stops a service; any other end is a crash to recover from.
        if stopping or code == -signal.SIGTERM:
            return 0
        # What the dead service forked (an executor's workers) still holds its database sessions and row locks;
        # a restarted container loses them too. Tasks run in sessions of their own and are not touched.
        killed = kill_leftovers()
        if time.monotonic() - started > STABLE_AFTER_S:
            backoff = FIRST_BACKOFF_S
        print(
            f"[de-sandbox keeper] {name} died ({describe_exit(code)}) after {time.monotonic() - started:.1f} s; "
            f"{killed} leftover process(es) stopped; restart {state.restarts + 1} in {backoff:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        deadline = time.monotonic() + backoff
        while time.monotonic() < deadline and not stopping:
            time.sleep(0.1)
        if stopping:
            return 0
        backoff = min(backoff * 2, MAX_BACKOFF_S)
        state.restarts += 1
        child = start()


def keeper_argv(name: str, state_file: Path, argv: list[str]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "de_sandbox.native.keeper",
        "--name",
        name,
        "--state",
        str(state_file),
        "--",
        *argv,
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to keep running")
    return keep(args.name, command, args.state)


if __name__ == "__main__":
    raise SystemExit(main())
