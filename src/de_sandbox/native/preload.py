"""Run an Airflow CLI command with the modules every dbt task needs already imported.

On Linux each Airflow task is forked, not started afresh: LocalExecutor workers are forked from the scheduler
and every task from a worker (Celery's prefork pool does the same from `celery worker`). What the parent has
imported, each task gets for free. Importing dbt and its adapters costs every Cosmos task ~5 s otherwise
(measured on the native platform: 10.6 s for a one-view task, 4.8 s of it in `import dbt.cli.main`), and importing
Great Expectations costs every `validate` task 8.7 s of CPU (most of the task; ~2 min of its wall time with four
backfill runs side by side at load 15).

    python -m de_sandbox.native.preload scheduler --skip-serve-logs
"""

from __future__ import annotations

import importlib
import sys
import time

import airflow  # noqa: F401  (Airflow before Cosmos internals)

# What a Cosmos task imports on its first dbt invocation and a validate task for GX; missing modules are skipped.
PRELOAD_MODULES = (
    "cosmos",
    "dbt.cli.main",
    "dbt.adapters.duckdb",
    "dbt.adapters.postgres",
    "great_expectations",
)


def preload(modules: tuple[str, ...] = PRELOAD_MODULES) -> list[str]:
    """Import `modules`; return the ones that loaded."""
    loaded = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            print(f"[de-sandbox] preload: skipped {name} ({exc})", file=sys.stderr, flush=True)
        else:
            loaded.append(name)
    return loaded


def fail_dead_schedulers() -> int:
    """Mark this host's scheduler jobs still `running` as failed; returns how many.

    Called as a scheduler starts: one scheduler runs per host, so any other is dead (its keeper has stopped what
    it forked). The new scheduler's first orphan check then resets the dead one's tasks at once, instead of after
    its heartbeat is `scheduler_health_check_threshold` old and the next check (every 300 s) has come round.
    """
    from airflow.jobs.job import Job
    from airflow.utils.net import get_hostname
    from airflow.utils.session import create_session
    from airflow.utils.state import JobState
    from sqlalchemy import update

    with create_session() as session:
        result = session.execute(
            update(Job)
            .where(
                Job.job_type == "SchedulerJob", Job.state == JobState.RUNNING, Job.hostname == get_hostname()
            )
            .values(state=JobState.FAILED)
        )
        return result.rowcount


def main(argv: list[str] | None = None) -> None:
    started = time.monotonic()
    loaded = preload()
    print(
        f"[de-sandbox] preloaded {', '.join(loaded)} in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    from airflow.__main__ import main as airflow_main

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["scheduler"] and (failed := fail_dead_schedulers()):
        print(f"[de-sandbox] marked {failed} dead scheduler job(s) failed", file=sys.stderr, flush=True)
    sys.argv = ["airflow", *args]
    airflow_main()


if __name__ == "__main__":
    main()
