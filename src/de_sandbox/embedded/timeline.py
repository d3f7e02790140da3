"""Where a DAG run's time goes, task by task: queued (from the scheduler queueing it to its process starting),
running, of which dbt's own invocation (run_results' elapsed time) and the rest (start-up of the task process,
Cosmos and Airflow around dbt), the SQL inside dbt (its nodes' execution times, summed over its threads), and
the gaps where no task of the run was running at all.

Read from the REST API's task instances and the run_results each Cosmos task keeps (dbt.artifacts); printed by
`make bench` after each native-platform run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path


@dataclass(frozen=True)
class TaskTiming:
    task_id: str
    state: str
    tries: int
    queued_s: float
    running_s: float
    dbt_s: float | None  # dbt's own wall time inside the task; None for a task that ran no dbt
    sql_s: float | None  # its nodes' execution times, summed over dbt's threads
    start: datetime
    end: datetime

    @property
    def overhead_s(self) -> float | None:
        """Running time outside dbt's invocation: start-up of the task process, Cosmos, callbacks."""
        return None if self.dbt_s is None else max(self.running_s - self.dbt_s, 0.0)


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def dbt_seconds(run_results_dir: Path) -> dict[str, tuple[float, float]]:
    """(dbt's wall time, its nodes' summed execution time) per task id, from the run_results.json each Cosmos
    task kept."""
    if not run_results_dir.is_dir():
        return {}
    seconds = {}
    for path in sorted(run_results_dir.glob("*.json")):
        document = json.loads(path.read_text())
        nodes = sum(r.get("execution_time") or 0.0 for r in document.get("results", []))
        seconds[path.stem] = (document.get("elapsed_time") or nodes, nodes)
    return seconds


def task_timings(task_instances: list[dict], dbt: dict[str, tuple[float, float]]) -> list[TaskTiming]:
    """One timing per task instance that ran (has a start and an end), in start order."""
    timings = []
    for ti in task_instances:
        start, end = _when(ti.get("start_date")), _when(ti.get("end_date"))
        if start is None or end is None:
            continue
        queued = _when(ti.get("queued_when"))
        dbt_s, sql_s = dbt.get(ti["task_id"], (None, None))
        timings.append(
            TaskTiming(
                task_id=ti["task_id"],
                state=ti.get("state") or "",
                tries=ti.get("try_number") or 1,
                queued_s=max((start - queued).total_seconds(), 0.0) if queued else 0.0,
                running_s=(end - start).total_seconds(),
                dbt_s=dbt_s,
                sql_s=sql_s,
                start=start,
                end=end,
            )
        )
    return sorted(timings, key=lambda t: (t.start, t.task_id))


def idle_seconds(timings: list[TaskTiming]) -> float:
    """Seconds between the first start and the last end in which no task of the run was running."""
    idle, busy_until = 0.0, None
    for t in timings:
        if busy_until is not None and t.start > busy_until:
            idle += (t.start - busy_until).total_seconds()
        busy_until = t.end if busy_until is None else max(busy_until, t.end)
    return idle


def summary(timings: list[TaskTiming]) -> dict[str, float]:
    """Totals over the run's tasks (task-seconds, so they add up past the wall time when tasks overlap)."""
    with_dbt = [t for t in timings if t.dbt_s is not None]
    span = max(t.end for t in timings) - min(t.start for t in timings) if timings else timedelta(0)
    return {
        "tasks": len(timings),
        "queued_s": round(sum(t.queued_s for t in timings), 1),
        "running_s": round(sum(t.running_s for t in timings), 1),
        "dbt_s": round(sum(t.dbt_s or 0.0 for t in with_dbt), 1),
        "dbt_sql_s": round(sum(t.sql_s or 0.0 for t in with_dbt), 1),
        "dbt_task_start_up_s": round(sum(t.overhead_s or 0.0 for t in with_dbt), 1),
        "idle_s": round(idle_seconds(timings), 1),
        "first_start_to_last_end_s": round(span.total_seconds(), 1),
    }


def task_rows(timings: list[TaskTiming]) -> list[dict]:
    """Each task's start and end in seconds from the run's first start, with its queueing and dbt seconds: the
    timeline BENCH_JSON carries, for a chart or a closer look at the graph's hops."""
    if not timings:
        return []
    first = min(t.start for t in timings)
    return [
        {
            "task_id": t.task_id,
            "start_s": round((t.start - first).total_seconds(), 2),
            "end_s": round((t.end - first).total_seconds(), 2),
            "queued_s": round(t.queued_s, 2),
            "dbt_s": None if t.dbt_s is None else round(t.dbt_s, 2),
            "state": t.state,
            "tries": t.tries,
        }
        for t in timings
    ]


def format_timeline(timings: list[TaskTiming], slowest: int = 10) -> str:
    """The totals, then the slowest tasks with their split."""
    totals = summary(timings)
    lines = [
        f"    where the time went: {totals['tasks']} tasks, first start to last end"
        f" {totals['first_start_to_last_end_s']:.1f} s, no task running for {totals['idle_s']:.1f} s of it",
        f"    task-seconds: queued {totals['queued_s']:.1f}, running {totals['running_s']:.1f}"
        f"; in dbt tasks: dbt {totals['dbt_s']:.1f} (SQL {totals['dbt_sql_s']:.1f} over its threads),"
        f" start-up and the rest {totals['dbt_task_start_up_s']:.1f}",
        "    slowest tasks: queued / running / dbt / SQL seconds",
    ]
    for t in sorted(timings, key=lambda t: t.running_s, reverse=True)[:slowest]:
        dbt = f"{t.dbt_s:6.1f} {t.sql_s:6.1f}" if t.dbt_s is not None else "     -      -"
        name = t.task_id if len(t.task_id) <= 60 else t.task_id[:57] + "..."
        lines.append(
            f"      {name:<60} {t.queued_s:6.1f} {t.running_s:7.1f} {dbt}  ({t.state}, try {t.tries})"
        )
    return "\n".join(lines)
