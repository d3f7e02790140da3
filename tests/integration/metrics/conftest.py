"""Fixtures for the metrics integration tests: Prometheus binaries and a real dbt build of a tiny project."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from metrics_helpers import DBT_PROBE

from de_sandbox.native.monitoring import prometheus_binary


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    return prometheus_binary()


@pytest.fixture(scope="session")
def promtool_bin(prometheus_bin) -> str:
    return shutil.which("promtool") or str(Path(prometheus_bin).with_name("promtool"))


@pytest.fixture(scope="session")
def dbt_probe_target(tmp_path_factory) -> Path:
    """`dbt build` of a tiny project (a seed, a model, a passing and a warning test): a real target dir."""
    project = tmp_path_factory.mktemp("dbt_probe") / "project"
    shutil.copytree(DBT_PROBE, project)
    env = {
        **os.environ,
        "PROBE_DUCKDB_PATH": str(project / "probe.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt), "build", "--project-dir", str(project), "--profiles-dir", str(project)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    return project / "target"
