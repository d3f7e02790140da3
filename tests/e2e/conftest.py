"""Fixtures for the native platform end-to-end tests: one platform per session, tmp DATA_DIR, free ports."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import secrets
import shutil
from pathlib import Path

import pytest

from de_sandbox.airflow_api import AirflowApi
from de_sandbox.platform import Platform, Supervisor, down, up
from de_sandbox.ports import free_port, is_listening
from de_sandbox.postgres import reachable_tmp_dir
from de_sandbox.settings import REPO_ROOT, get_settings

START_TIMEOUT_S = 300


def output_dir_for(name: str) -> Path:
    path = REPO_ROOT / "test-output" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _record_timing(name: str, seconds: float) -> None:
    timings_file = output_dir_for("native_platform") / "timings.json"
    timings = json.loads(timings_file.read_text()) if timings_file.is_file() else {}
    timings[name] = round(seconds, 1)
    timings_file.write_text(json.dumps(timings, indent=2) + "\n")
    print(f"[timing] {name}: {seconds:.1f} s")


def _platform(data_dir: Path, dags_folder: Path) -> Platform:
    # GX writes its Postgres checkpoints into its context: a copy keeps the repo's great_expectations/ clean.
    gx_root = shutil.copytree(
        REPO_ROOT / "great_expectations", data_dir / "gx", ignore=shutil.ignore_patterns("uncommitted")
    )
    settings = dataclasses.replace(
        get_settings(),
        data_dir=data_dir,
        gx_root_dir=gx_root,
        warehouse="postgres",
        duckdb_path=data_dir / "warehouse.duckdb",
        postgres_host="127.0.0.1",
        postgres_port=free_port(),
        postgres_user="sandbox",
        postgres_password=secrets.token_urlsafe(16),
    )
    return Platform(
        settings=settings,
        airflow_port=free_port(),
        admin_user="admin",
        admin_password=secrets.token_urlsafe(12),
        fernet_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        jwt_secret=secrets.token_urlsafe(32),
        dags_folder=dags_folder,
        prometheus_port=free_port(),
        exporter_port=free_port(),
        minio_endpoint=f"127.0.0.1:{free_port()}",
    )


@pytest.fixture(scope="session")
def native_platform():
    """The native platform (PostgreSQL warehouse) on free ports; torn down and checked for leftovers."""
    data_dir = reachable_tmp_dir("de-sandbox-native-")
    dags_folder = data_dir / "dags"
    shutil.copytree(REPO_ROOT / "dags", dags_folder, ignore=shutil.ignore_patterns("__pycache__"))
    platform = _platform(data_dir, dags_folder)
    supervisor = Supervisor(platform)
    try:
        _record_timing("start_to_healthy_cold", up(platform, timeout=START_TIMEOUT_S))
        yield platform
    finally:
        groups = [proc for spec in platform.services() if (proc := supervisor.running(spec.name))]
        down(platform)
        leftovers = {pid for proc in groups for pid in proc.group_members()}
        ports = [platform.settings.postgres_port, *(p for spec in platform.services() for p in spec.ports)]
        listening = [p for p in ports if is_listening(p)]
        shutil.rmtree(data_dir, ignore_errors=True)
        assert not leftovers, f"processes left after local-down: {sorted(leftovers)}"
        assert not listening, f"ports still listening after local-down: {listening}"


@pytest.fixture(scope="session")
def airflow_api(native_platform) -> AirflowApi:
    api = AirflowApi(native_platform.api_url, native_platform.admin_user, native_platform.admin_password)
    api.login()
    return api


@pytest.fixture(scope="session")
def record_timing():
    """record_timing(name, seconds): keeps measured figures in test-output/native_platform/timings.json."""
    return _record_timing
