"""Find the process running an Airflow task instance, and its ancestors, from /proc (fault tests kill them)."""

from __future__ import annotations

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
