"""Runs one DAG once on the embedded default (SQLite metadata, DuckDB warehouse) and prints progress and a summary.

The DAG runs with `dag.test()` in a child process whose logs go to a file; this process follows the task states in
the metadata DB (plain sqlite3, no Airflow import) so the terminal shows one line per finished task.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from de_sandbox.airflow_env import apply, embedded_env, ensure_metadata_db
from de_sandbox.settings import Settings, get_settings

FINISHED = {"success", "failed", "upstream_failed", "skipped", "removed"}


class RunError(RuntimeError):
    """The DAG could not be run (bad input, import error) or its run failed."""


def parse_logical_date(value: str | None) -> datetime | None:
    """Accept a date, a date-hour or a full ISO timestamp; naive values are UTC."""
    if value in (None, ""):
        return None
    text = value.strip().replace(" ", "T")
    if len(text) == 13:  # 2026-01-01T05
        text += ":00"
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise RunError(
            f"DATE={value!r} is not a date: use e.g. 2026-01-01, 2026-01-01T05:00 or 2026-01-01T05:00:00+00:00"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class TaskState:
    task_id: str
    state: str
    seconds: float | None


@dataclass
class RunResult:
    dag_id: str
    run_id: str | None
    state: str
    seconds: float
    log_file: Path
    tasks: list[TaskState] = field(default_factory=list)
    xcoms: dict[str, object] = field(default_factory=dict)


def _sqlite_path(env: dict[str, str]) -> Path:
    return Path(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///"))


def _new_run_id(db: Path, dag_id: str, seen: set[str]) -> str | None:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        rows = conn.execute(
            "select run_id from dag_run where dag_id = ? order by id desc", (dag_id,)
        ).fetchall()
    return next((run_id for (run_id,) in rows if run_id not in seen), None)


def _task_states(db: Path, dag_id: str, run_id: str) -> dict[str, TaskState]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        rows = conn.execute(
            "select task_id, state, duration from task_instance where dag_id = ? and run_id = ?",
            (dag_id, run_id),
        ).fetchall()
    return {task_id: TaskState(task_id, state or "none", duration) for task_id, state, duration in rows}


def _run_ids(db: Path, dag_id: str) -> set[str]:
    if not db.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return {r[0] for r in conn.execute("select run_id from dag_run where dag_id = ?", (dag_id,))}
    except sqlite3.Error:
        return set()


def _print_progress(state: TaskState, done: int, total: int) -> None:
    took = f"{state.seconds:6.1f}s" if state.seconds is not None else "       "
    mark = {"success": "ok", "failed": "FAILED", "upstream_failed": "skipped (upstream failed)"}.get(
        state.state, state.state
    )
    print(f"  [{done:>3}/{total:<3}] {took}  {state.task_id:<55} {mark}", flush=True)


def run_dag(
    dag_id: str,
    logical_date: str | None = None,
    settings: Settings | None = None,
    dags_dir: Path | None = None,
) -> RunResult:
    """Run `dag_id` once via dag.test() in a child process, streaming one line per finished task.

    `dags_dir` defaults to the repo's dags/ (`make bench` passes bench/dags)."""
    from de_sandbox.dbt.project import dbt_executable, ensure_manifest, mark_deployed

    settings = settings or get_settings()
    when = parse_logical_date(logical_date)
    dags_dir = dags_dir or settings.repo_root / "dags"
    dag_file = dags_dir / f"{dag_id}.py"
    if not dag_file.exists():
        known = sorted(p.stem for p in dags_dir.glob("*.py") if not p.stem.startswith("_"))
        raise RunError(f"no DAG {dag_id!r} (expected {dag_file}); DAGs here: {', '.join(known)}")

    env = embedded_env(settings)
    apply(env)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_metadata_db(env)
    ensure_manifest(settings, dbt_executable())
    # `make pipeline-check` compares models with what this run deploys.
    mark_deployed(settings)

    run_dir = settings.data_dir / "runs" / dag_id
    run_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    log_file, result_file = run_dir / f"{stamp}.log", run_dir / f"{stamp}.json"
    db = _sqlite_path(env)
    before = _run_ids(db, dag_id)

    print(f"[de-sandbox] running {dag_id} (logical date {when.isoformat() if when else 'now'})", flush=True)
    print(f"[de-sandbox] full log: {log_file}", flush=True)
    started = time.perf_counter()
    command = [sys.executable, "-m", "de_sandbox.embedded.runner", dag_id, "--result-file", str(result_file)]
    command += ["--dags-dir", str(dags_dir)]
    if when:
        command += ["--date", when.isoformat()]
    with log_file.open("w") as log:
        # dag.test() serialises the DAG through the dags-folder bundle, so the folder must be the DAG's own.
        env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(dags_dir)}
        child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        run_id: str | None = None
        reported: set[str] = set()
        while True:
            finished = child.poll() is not None
            try:
                run_id = run_id or _new_run_id(db, dag_id, before)
                if run_id:
                    states = _task_states(db, dag_id, run_id)
                    for task_id, state in sorted(states.items()):
                        if state.state in FINISHED and task_id not in reported:
                            reported.add(task_id)
                            _print_progress(state, len(reported), len(states))
            except sqlite3.Error:
                pass  # the child holds a write lock for a moment; read again on the next tick
            if finished:
                break
            time.sleep(0.5)

    if not result_file.exists():
        tail = "".join(log_file.read_text(errors="replace").splitlines(keepends=True)[-40:])
        raise RunError(f"{dag_id} did not run (exit {child.returncode}); last log lines:\n{tail}")
    data = json.loads(result_file.read_text())
    return RunResult(
        dag_id=dag_id,
        run_id=data["run_id"],
        state=data["state"],
        seconds=time.perf_counter() - started,
        log_file=log_file,
        tasks=[TaskState(**t) for t in data["tasks"]],
        xcoms=data["xcoms"],
    )


def _child_main(dag_id: str, date: str | None, result_file: Path, dags_dir: Path | None = None) -> int:
    """Inside the child: load the DAG, dag.test() it, write states and return values as JSON."""
    from airflow.dag_processing.dagbag import DagBag

    dags_dir = dags_dir or get_settings().repo_root / "dags"
    bag = DagBag(dag_folder=str(dags_dir / f"{dag_id}.py"))
    if bag.import_errors or dag_id not in bag.dags:
        errors = "\n".join(f"{path}:\n{err}" for path, err in bag.import_errors.items())
        print(f"[de-sandbox] DAG {dag_id} failed to import:\n{errors}", file=sys.stderr)
        return 3
    dag = bag.dags[dag_id]
    dag_run = dag.test(logical_date=parse_logical_date(date))
    tis = dag_run.get_task_instances()
    xcoms = {}
    for ti in tis:
        if ti.state == "success":
            value = ti.xcom_pull(task_ids=ti.task_id, key="return_value")
            if isinstance(value, dict | list | str | int | float):
                xcoms[ti.task_id] = value
    result = {
        "run_id": dag_run.run_id,
        "state": str(dag_run.state),
        "tasks": [{"task_id": ti.task_id, "state": str(ti.state), "seconds": ti.duration} for ti in tis],
        "xcoms": xcoms,
    }
    result_file.write_text(json.dumps(result, default=str, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="internal: run one DAG with dag.test()")
    parser.add_argument("dag_id")
    parser.add_argument("--date")
    parser.add_argument("--result-file", type=Path, required=True)
    parser.add_argument("--dags-dir", type=Path)
    args = parser.parse_args(argv)
    return _child_main(args.dag_id, args.date, args.result_file, args.dags_dir)


if __name__ == "__main__":
    sys.exit(main())
