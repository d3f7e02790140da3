"""Peak memory of everything a measurement starts: the summed PSS of a set of process trees, sampled from /proc.

PSS (proportional set size) counts a page shared by forked processes once in total, so a platform whose tasks are
forked from a preloaded scheduler is not charged for the same imports once per task.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path


def _processes() -> dict[int, int]:
    """pid -> parent pid of every live process."""
    parents = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z":
            parents[int(stat_file.parent.name)] = int(fields[1])
    return parents


def descendants(roots: Iterable[int], parents: dict[int, int] | None = None) -> set[int]:
    """`roots` and every process below them."""
    parents = _processes() if parents is None else parents
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), [r for r in roots if r in parents]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def children_of_this_process() -> list[int]:
    me = os.getpid()
    return [pid for pid, ppid in _processes().items() if ppid == me]


def postmaster_pid(pgdata: Path) -> list[int]:
    """The PostgreSQL server of a data directory (its backends are below it), if it runs."""
    try:
        return [int((pgdata / "postmaster.pid").read_text().split()[0])]
    except (OSError, ValueError, IndexError):
        return []


class PeakMemory:
    """Samples the summed PSS of the trees below `roots()` every `interval` seconds until stopped; `peak_mb`."""

    def __init__(self, roots: Callable[[], Iterable[int]], interval: float = 1.0):
        self.roots = roots
        self.interval = interval
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> int:
        total = sum(pss_kb(pid) for pid in descendants(self.roots()))
        self.peak_kb = max(self.peak_kb, total)
        return total

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
