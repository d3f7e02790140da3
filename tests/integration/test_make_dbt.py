"""`make dbt ARGS="..."` runs dbt on the sandbox's project, profile and warehouse (here a fresh DuckDB file): a
failing command fails make, a good one builds tables, and no ARGS is a usage line."""

from __future__ import annotations

import os
import subprocess

import duckdb
import pytest

from de_sandbox.settings import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def make_dbt(tmp_path, args: str | None) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DE_SANDBOX_ENV_FILE": str(tmp_path / "no.env"),
        "WAREHOUSE": "duckdb",
        "DATA_DIR": str(tmp_path / "data"),
        "DUCKDB_PATH": str(tmp_path / "data" / "warehouse.duckdb"),
    }
    command = ["make", "--no-print-directory", "dbt"] + ([f"ARGS={args}"] if args is not None else [])
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240)


def test_without_args_it_prints_the_usage_and_fails(tmp_path):
    result = make_dbt(tmp_path, None)
    assert result.returncode != 0
    assert 'usage: make dbt ARGS="<dbt command>"' in result.stderr
    assert make_dbt(tmp_path, "   ").returncode != 0


def test_dbt_commands_run_on_the_sandbox_warehouse_and_failures_fail_make(tmp_path):
    # The staging model reads a seed that is not loaded yet: dbt fails, so does make.
    failed = make_dbt(tmp_path, "run --select stg_shop__customers")
    assert failed.returncode != 0, failed.stdout[-2000:]
    assert "raw_customers" in failed.stdout

    seeded = make_dbt(tmp_path, "seed --select raw_customers")
    assert seeded.returncode == 0, seeded.stdout[-2000:] + seeded.stderr[-2000:]
    built = make_dbt(tmp_path, "run --select stg_shop__customers")
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    assert "target duckdb" in built.stdout

    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as connection:
        (customers,) = connection.execute("select count(*) from staging.stg_shop__customers").fetchone()
    seeds = (REPO_ROOT / "seeds" / "raw_customers.csv").read_text().strip().splitlines()
    assert customers == len(seeds) - 1
    # Artefacts go under DATA_DIR, as for the DAGs: the repo's dbt folder gets no target/.
    assert (tmp_path / "data" / "dbt" / "de_sandbox-duckdb" / "target" / "manifest.json").exists()
