"""`make demo` from a clean copy of the repository: installs what it needs, runs the pipeline, prints the summary."""

from __future__ import annotations

import os
import shutil
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
    print(f"make demo from a clean copy took {seconds:.0f}s")
