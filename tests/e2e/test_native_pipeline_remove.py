"""`make pipeline-remove` against a running native platform: the platform runs from a fresh clone (its DAG files,
pipeline configs, dbt project and data folder are the clone's, as `make local-up` in a checkout), so the DAG that
`make pipeline-new` writes there is parsed by it; removal refuses while a run of it is queued, then deletes the DAG
and its runs through the REST API."""

from __future__ import annotations

import dataclasses
import shutil
import time

import pytest
import requests
from helpers.clone import git_clone

from de_sandbox.airflow_api import AirflowApi
from de_sandbox.native.platform import Platform, down, up
from de_sandbox.native.postgres import reachable_tmp_dir
from de_sandbox.settings import get_ingestion_settings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

NAME = "rm_live"
START_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def clone_platform(tmp_path_factory, monkeypatch_module, record_timing):
    """A DuckDB platform whose repository is a fresh clone, and that clone with the platform's URL, login, data
    folder and object store in its environment."""
    data_dir = reachable_tmp_dir("de-sandbox-remove-")
    platform = Platform.throwaway(data_dir, warehouse="duckdb")
    clone = git_clone(tmp_path_factory.mktemp("remove") / "repo", platform.minio_endpoint)
    root = clone.root
    # The platform's own processes resolve the repository (pipelines/, .env) from DE_SANDBOX_ROOT.
    monkeypatch_module.setenv("DE_SANDBOX_ROOT", str(root))
    monkeypatch_module.setenv("PYTHONPATH", str(root / "src"))
    # No runs on the clock: the new DAG (unpaused at creation) would get a scheduled run before the test pauses it.
    monkeypatch_module.setenv("AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE", "False")
    settings = dataclasses.replace(
        platform.settings,
        repo_root=root,
        dbt_project_dir=root / "dbt",
        dbt_profiles_dir=root / "dbt",
        seeds_dir=root / "seeds",
    )
    platform = dataclasses.replace(platform, settings=settings, dags_folder=root / "dags")
    ingestion = get_ingestion_settings()
    clone.env.update(
        DATA_DIR=str(data_dir),
        DUCKDB_PATH=str(settings.duckdb_path),
        MINIO_ROOT_USER=ingestion.minio_access_key,
        MINIO_ROOT_PASSWORD=ingestion.minio_secret_key,
        AIRFLOW_API_URL=platform.api_url,
        AIRFLOW_ADMIN_USER=platform.admin_user,
        AIRFLOW_ADMIN_PASSWORD=platform.admin_password,
    )
    try:
        record_timing("remove_platform_start_to_healthy", up(platform, timeout=START_TIMEOUT_S))
        api = AirflowApi(platform.api_url, platform.admin_user, platform.admin_password)
        api.login()
        yield platform, api, clone
    finally:
        down(platform)
        shutil.rmtree(data_dir, ignore_errors=True)


def _metadata_rows(platform: Platform, dag_id: str) -> dict[str, int]:
    import psycopg2

    settings = platform.settings
    connection = psycopg2.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password,
        dbname=settings.airflow_db,
    )
    try:
        with connection.cursor() as cursor:
            counts = {}
            for table in ("dag", "dag_run", "task_instance"):
                cursor.execute(f"select count(*) from {table} where dag_id = %s", (dag_id,))
                counts[table] = cursor.fetchone()[0]
            return counts
    finally:
        connection.close()


def _refused(result) -> str:
    assert result.returncode == 2, f"expected a refusal:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stderr


def _ok(result, what: str) -> str:
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_remove_refuses_during_a_run_then_deletes_the_dag_from_the_platform(clone_platform, record_timing):
    platform, api, clone = clone_platform
    before = clone.git_status()
    started = time.monotonic()
    _ok(clone.make("pipeline-new", f"NAME={NAME}"), "pipeline-new")
    api.wait_for_dag(NAME, timeout=120)
    assert api.dag(NAME)["fileloc"].startswith(str(clone.root / "dags")), api.dag(NAME)

    # A real DAG run that stays queued: the DAG is paused, so the scheduler starts none of its tasks.
    api.session.patch(
        f"{api.base_url}/api/v2/dags/{NAME}", json={"is_paused": True}, timeout=30
    ).raise_for_status()
    run_id = api.trigger(NAME, logical_date="2026-01-01T01:00:00Z")
    assert api.run_state(NAME, run_id) == "queued"

    out = _ok(clone.make("pipeline-remove", f"NAME={NAME}"), "pipeline-remove (dry run)")
    assert f"airflow  DAG {NAME} and its runs on the platform at {platform.api_url}" in out, out
    error = _refused(clone.make("pipeline-remove", f"NAME={NAME}", "CONFIRM=1"))
    assert f"DAG run {run_id} is queued" in error and "wait for it to finish" in error, error
    assert (clone.root / "dags" / f"{NAME}.py").exists() and (
        clone.root / "pipelines" / f"{NAME}.yml"
    ).exists()
    assert api.dag(NAME) is not None and _metadata_rows(platform, NAME)["dag_run"] == 1

    api.session.patch(
        f"{api.base_url}/api/v2/dags/{NAME}/dagRuns/{run_id}", json={"state": "failed"}, timeout=30
    ).raise_for_status()
    _ok(clone.make("pipeline-remove", f"NAME={NAME}", "CONFIRM=1"), "pipeline-remove CONFIRM=1")
    assert api.get(f"dags/{NAME}").status_code == requests.codes.not_found
    assert _metadata_rows(platform, NAME) == {"dag": 0, "dag_run": 0, "task_instance": 0}
    assert clone.git_status() == before
    record_timing("pipeline_new_to_removed_on_platform", time.monotonic() - started)
