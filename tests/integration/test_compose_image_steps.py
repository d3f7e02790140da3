"""The Airflow image's dbt-manifest step, run on the host exactly as the Dockerfile writes it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from de_sandbox.compose import checks as check
from de_sandbox.dbt.project import manifest_path
from de_sandbox.settings import REPO_ROOT, get_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def _run_instruction(marker: str) -> str:
    """The shell of the Dockerfile RUN containing `marker`, without its --mount flags."""
    text = check.DOCKERFILE.read_text().replace("\\\n", "")
    run = next(line for line in text.splitlines() if line.startswith("RUN") and marker in line)
    return re.sub(r"^RUN\s+(--mount=\S+\s+)*", "", run)


def test_baked_manifests_land_where_the_dags_look_for_them(tmp_path, monkeypatch):
    build, baked = tmp_path / "build", tmp_path / "baked"
    shutil.copytree(
        REPO_ROOT / "dbt", build / "dbt", symlinks=True, ignore=shutil.ignore_patterns("target", "logs")
    )
    shutil.copytree(REPO_ROOT / "seeds", build / "seeds")
    script = _run_instruction("dbt-parse").replace("/tmp/build", str(build))
    env = {
        **os.environ,
        "DBT_BAKED_DATA_DIR": str(baked),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    subprocess.run(["bash", "-euc", script], env=env, check=True, capture_output=True, text=True)
    for warehouse in ("duckdb", "postgres"):
        monkeypatch.setenv("DATA_DIR", str(baked))
        monkeypatch.setenv("WAREHOUSE", warehouse)
        monkeypatch.setenv("DBT_PROJECT_DIR", str(REPO_ROOT / "dbt"))
        manifest = manifest_path(get_settings())
        assert manifest.is_file() and manifest.stat().st_size > 10_000, manifest


@pytest.mark.parametrize(
    "warehouse, expected",
    [
        ("duckdb", "duckdb:///opt/airflow/data/warehouse.duckdb"),
        ("postgres", "postgres://sandbox:pw@postgres:5432/wh"),
    ],
)
def test_entrypoint_derives_the_warehouse_connection_from_warehouse(warehouse, expected):
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "DE_SANDBOX_ENV_FILE": "/nonexistent",
        "WAREHOUSE": warehouse,
        "DUCKDB_PATH": "/opt/airflow/data/warehouse.duckdb",
        "POSTGRES_HOST": "postgres",
        "POSTGRES_PORT": "5432",
        "POSTGRES_USER": "sandbox",
        "POSTGRES_PASSWORD": "pw",
        "WAREHOUSE_DB": "wh",
        "AIRFLOW_OFFICIAL_ENTRYPOINT": "/usr/bin/env",
    }
    result = subprocess.run(
        [str(REPO_ROOT / "docker" / "airflow" / "entrypoint.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"AIRFLOW_CONN_WAREHOUSE={expected}" in result.stdout.splitlines()
