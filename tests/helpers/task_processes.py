"""Find the process running an Airflow task instance, and its ancestors, from /proc (fault tests kill them)."""

from __future__ import annotations

import time
from pathlib import Path

TASK_TITLE = "airflow worker -- "


def running_task(ti_ids: dict[str, str]) -> tuple[int, str] | None:
    """(pid, task_id) of a running task process of these task instances (titled `airflow worker -- <ti id>`)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        ti_id = title.removeprefix(TASK_TITLE)
        if ti_id != title and ti_id in ti_ids:
            return int(cmdline.parent.name), ti_ids[ti_id]
    return None


def ancestors(pid: int) -> list[int]:
    """The process and its parents, up to (not including) init."""
    chain = []
    while pid > 1:
        chain.append(pid)
        pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return chain


def wait_for_running_task(
    api,
    dag_id: str,
    run_id: str,
    timeout: float = 600,
    task_id: str | None = None,
    not_pid: int | None = None,
) -> tuple[int, str]:
    """(pid, task_id) of the first process of the run's tasks (or of `task_id` alone) seen running, other than
    `not_pid`. Task-instance ids are re-read from the REST API each second: the scheduler creates them a moment
    after the trigger, and a retry runs under an id of its own."""
    ti_ids: dict[str, str] = {}
    refreshed, deadline = 0.0, time.monotonic() + timeout
    while (found := running_task(ti_ids)) is None or found[0] == not_pid:
        if time.monotonic() - refreshed > 1:
            body = api.get_json(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)
            ti_ids = {
                ti["id"]: ti["task_id"] for ti in body["task_instances"] if task_id in (None, ti["task_id"])
            }
            refreshed = time.monotonic()
        assert time.monotonic() < deadline, f"no task process of {dag_id} run {run_id} seen running"
        time.sleep(0.05)
    return found
