"""Starts, health-checks and stops native services, each in its own process group led by a keeper that restarts
the service when it dies (`native/keeper.py`), through pid and state files under DATA_DIR/run."""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path

from de_sandbox.native.keeper import KeeperState, describe_exit, keeper_argv
from de_sandbox.native.processes import LOOPBACK, check_port_free, signal_group, start_group
from de_sandbox.native.spec import ServiceSpec

STOP_TIMEOUT_S = 20


@dataclass(frozen=True)
class RunningProcess:
    """A pid file's content: pid plus kernel start time, so a recycled pid is never mistaken for ours."""

    pid: int
    start_ticks: int

    @classmethod
    def read(cls, pid_file: Path) -> RunningProcess | None:
        try:
            pid, ticks = pid_file.read_text().split()
            proc = cls(int(pid), int(ticks))
        except (OSError, ValueError):
            return None
        return proc if proc.alive() else None

    @staticmethod
    def start_ticks_of(pid: int) -> int | None:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        # Fields after the parenthesised command name: state is field 3, starttime field 22 of the whole line.
        fields = stat.rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else int(fields[19])

    def alive(self) -> bool:
        return self.start_ticks_of(self.pid) == self.start_ticks

    def group_members(self) -> list[int]:
        """Every live process in this process group (the service and all it forked)."""
        members = []
        for stat_file in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat_file.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[2]) == self.pid and fields[0] != "Z":
                members.append(int(stat_file.parent.name))
        return members


class Supervisor:
    """Starts, health-checks and stops the services of one platform through pid files under its DATA_DIR."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.run_dir = data_dir / "run"
        self.log_dir = data_dir / "logs"

    def pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def state_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.state.json"

    def running(self, name: str) -> RunningProcess | None:
        return RunningProcess.read(self.pid_file(name))

    def keeper_state(self, name: str) -> KeeperState | None:
        """Restarts and last exit status of a service this DATA_DIR started (None before its first start)."""
        return KeeperState.read(self.state_file(name))

    def start(self, spec: ServiceSpec, env: dict[str, str]) -> bool:
        """Start one service unless it already runs; True when it was started now."""
        if self.running(spec.name):
            return False
        for port in spec.ports:
            check_port_free(LOOPBACK, port, spec.name)
        log = self.log_file(spec.name)
        state = self.state_file(spec.name)
        state.unlink(missing_ok=True)
        with log.open("ab") as out:
            proc = start_group(
                keeper_argv(spec.name, state, spec.argv), out, {**env, **spec.env}, cwd=self.data_dir
            )
        ticks = RunningProcess.start_ticks_of(proc.pid)
        self.pid_file(spec.name).write_text(f"{proc.pid} {ticks}\n")
        return True

    def stop(self, names: list[str]) -> None:
        """SIGTERM every named service's process group at once, SIGKILL what is left after STOP_TIMEOUT_S."""
        running = {name: proc for name in names if (proc := self.running(name)) is not None}
        procs = list(running.values())
        for proc in procs:
            signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while any(proc.group_members() for proc in procs) and time.monotonic() < deadline:
            time.sleep(0.2)
        for name, proc in running.items():
            if proc.group_members():
                print(
                    f"[de-sandbox] {name} still running {STOP_TIMEOUT_S} s after SIGTERM: killing it",
                    flush=True,
                )
                signal_group(proc.pid, signal.SIGKILL)
        while any(proc.group_members() for proc in procs) and time.monotonic() < deadline + 5:
            time.sleep(0.1)
        for name in names:
            self.pid_file(name).unlink(missing_ok=True)

    def wait_healthy(
        self, specs: list[ServiceSpec], timeout: float, started_now: frozenset[str] = frozenset()
    ) -> None:
        """Poll each service's health; fail naming the service, with its log tail, if it dies or stalls (a
        service started now that dies once is reported, not left to its keeper's restarts)."""
        pending = {spec.name: spec for spec in specs}
        started = time.monotonic()
        deadline = started + timeout
        while pending:
            for name, spec in list(pending.items()):
                state = self.keeper_state(name)
                died = name in started_now and state is not None and state.last_exit is not None
                if self.running(name) is None or died:
                    ended = describe_exit(state.last_exit) if state else "-"
                    raise RuntimeError(f"{name} exited during start-up ({ended})\n{self.log_tail(name)}")
                if spec.health():
                    pending.pop(name)
                    print(f"[de-sandbox] {name} healthy after {time.monotonic() - started:.1f} s", flush=True)
            if pending and time.monotonic() > deadline:
                name = next(iter(pending))
                raise RuntimeError(f"{name} not healthy after {timeout:.0f} s\n{self.log_tail(name)}")
            if pending:
                time.sleep(0.5)

    def log_tail(self, name: str, lines: int = 30) -> str:
        log = self.log_file(name)
        text = log.read_text(errors="replace") if log.is_file() else ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"--- last {lines} lines of {log} ---\n{tail}"
