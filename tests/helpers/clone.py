"""A fresh clone of this checkout (sharing its .venv) and the `make` front door run inside it, as a user's shell
runs it: the lifecycle tests and the platform that runs from a clone use it."""

from __future__ import annotations

import itertools
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from de_sandbox.settings import REPO_ROOT

_buckets = itertools.count(1)
_PARENT_MAKE_VARIABLES = ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")


@dataclass
class Clone:
    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def make(self, *args: str, timeout: float = 2400) -> subprocess.CompletedProcess:
        """`make <args>` in the clone; `-o .venv/.synced` keeps make from re-syncing the shared venv."""
        return subprocess.run(
            ["make", "--no-print-directory", "-o", ".venv/.synced", *args],
            cwd=self.root,
            # As a user's shell runs it: not a sub-make of `make test` (MAKELEVEL would add make[1] lines).
            env={key: value for key, value in self.env.items() if key not in _PARENT_MAKE_VARIABLES},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def git_status(self) -> str:
        return subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout


def clone_env(root: Path, endpoint: str) -> dict[str, str]:
    """The clone's own defaults (its data/ folder, its code first on the path), not the test session's."""
    number = next(_buckets)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AIRFLOW", "DBT_", "GX_", "PIPELINES_DIR", "POSTGRES_", "WAREHOUSE"))
    }
    env.update(
        PYTHONPATH=str(root / "src"),
        DE_SANDBOX_ROOT=str(root),
        DE_SANDBOX_ENV_FILE=str(root / "no.env"),
        DATA_DIR=str(root / "data"),
        DUCKDB_PATH=str(root / "data" / "warehouse.duckdb"),
        METRICS_DB_PATH=str(root / "data" / "metrics" / "facts.sqlite"),
        MINIO_ENDPOINT=endpoint,
        MINIO_ROOT_USER="test-user",
        MINIO_ROOT_PASSWORD="test-password",
        S3_BUCKET_RAW=f"lifecycle-raw-{number}",
        S3_BUCKET_ARCHIVE=f"lifecycle-archive-{number}",
        # No platform answers on this port: removal must not find one by accident.
        AIRFLOW_PORT="9",
    )
    return env


def git_clone(root: Path, endpoint: str) -> Clone:
    """`git clone` of this checkout's HEAD at `root` with a link to its .venv."""
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(root)], check=True)
    (root / ".venv").symlink_to(REPO_ROOT / ".venv")
    return Clone(root, clone_env(root, endpoint))
