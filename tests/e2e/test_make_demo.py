"""`make demo` from a clean copy of the repository: installs what it needs, runs the pipeline, prints the summary."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from de_sandbox.settings import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1500)]

# The test session points these at its own folders; a user's shell has none of them.
_SESSION_VARS = (
    "AIRFLOW",
    "DATA_DIR",
    "DUCKDB_PATH",
    "DBT_",
    "GX_",
    "DE_SANDBOX",
    "WAREHOUSE",
    "VIRTUAL_ENV",
)


def clean_copy(destination: Path) -> Path:
    """The files a fresh clone has: tracked and untracked-but-not-ignored ones, nothing generated."""
    files = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO_ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = REPO_ROOT / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree, not yet committed
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    return destination


def user_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_SESSION_VARS)}


def test_make_demo_from_a_clean_copy(tmp_path, output_dir):
    repo = clean_copy(tmp_path / "de-sandbox")
    assert not (repo / ".venv").exists() and not (repo / "data").exists()
    started = time.perf_counter()
    proc = subprocess.run(["make", "demo"], cwd=repo, env=user_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    (output_dir / "make-demo.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-6000:]

    out = proc.stdout
    assert "== example_pipeline: SUCCESS" in out
    assert "dbt nodes:" in out and "0 not passed" in out
    assert "marts.dim_customers" in out and "raw.raw_customers" in out
    assert "expectations" in out
    assert str(repo / "data" / "warehouse.duckdb") in out
    assert "(not generated)" not in out, out[-3000:]
    assert (repo / "data" / "warehouse.duckdb").exists()
    # WATCHER under dag.test(), make demo's mode: one `dbt build` in the producer, then each node's task read its
    # status from the producer's XCom, which was already there (left unordered, the run waited forever).
    assert "seeds 3 success" in out, out[-3000:]
    with sqlite3.connect(repo / "data" / "airflow-embedded" / "airflow.db") as db:
        states = dict(
            db.execute(
                "select task_id, state from task_instance where dag_id = 'example_pipeline'"
            ).fetchall()
        )
    assert states["dbt.dbt_producer_watcher"] == "success" and set(states.values()) == {"success"}, states
    assert {"dbt.stg_shop__customers.run", "dbt.stg_shop__customers.test"} <= states.keys(), states
    print(f"make demo from a clean copy took {seconds:.0f}s")
