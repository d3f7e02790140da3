"""Test session setup: every test runs against its own data folder and embedded Airflow, never the repo's data/."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_OUTPUT = REPO_ROOT / "test-output"

pytest_plugins = ["helpers.sigterm_teardown"]


def pytest_configure(config: pytest.Config) -> None:
    # Before any test module imports Airflow: it reads its configuration once, at import.
    data_dir = Path(tempfile.mkdtemp(prefix="de-sandbox-tests-"))
    os.environ.update(
        DE_SANDBOX_ENV_FILE=str(data_dir / "no.env"),
        DATA_DIR=str(data_dir),
        DUCKDB_PATH=str(data_dir / "warehouse.duckdb"),
        WAREHOUSE="duckdb",
    )
    for name in ("DBT_PROJECT_DIR", "DBT_PROFILES_DIR", "GX_ROOT_DIR"):
        os.environ.pop(name, None)
    from de_sandbox.airflow_env import apply, embedded_env
    from de_sandbox.settings import get_settings

    apply(embedded_env(get_settings()))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-long", action="store_true", help="also run the tests marked long (make test-long)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Tests beyond make test's time budget run only when asked for.
    if config.getoption("--run-long"):
        return
    skip = pytest.mark.skip(reason="long: beyond make test's budget, run with --run-long (make test-long)")
    for item in items:
        if "long" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def embedded_airflow():
    """A migrated SQLite metadata DB and a fresh dbt manifest for the session's settings."""
    from de_sandbox.airflow_env import embedded_env, ensure_metadata_db
    from de_sandbox.dbt.project import dbt_executable, ensure_manifest
    from de_sandbox.settings import get_settings

    settings = get_settings()
    ensure_metadata_db(embedded_env(settings))
    ensure_manifest(settings, dbt_executable())
    return settings


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """A per-test folder under test-output/ for artefacts worth keeping (screenshots, logs)."""
    path = TEST_OUTPUT / request.node.name.replace("/", "_")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on a free loopback port for the whole test session, wiped afterwards.

    Yields a LocalPostgres: host, port, user, password, airflow_db, warehouse_db, url(db), connect(db), env().
    """
    from de_sandbox.native.postgres import LocalPostgres, reachable_tmp_dir
    from de_sandbox.native.processes import free_port

    root = reachable_tmp_dir("de-sandbox-pg-")
    server = LocalPostgres(
        cluster_dir=root / "postgres",
        port=free_port(),
        user="sandbox_test",
        password="test-password",
        airflow_db="airflow",
        warehouse_db="warehouse",
    )
    try:
        server.start()
        yield server
    finally:
        server.wipe()
        shutil.rmtree(root, ignore_errors=True)
