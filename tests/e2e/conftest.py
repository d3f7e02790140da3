"""Fixtures for the native platform end-to-end tests: one platform per session, tmp DATA_DIR, free ports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from de_sandbox.airflow_api import AirflowApi
from de_sandbox.native.platform import Platform, Supervisor, down, up
from de_sandbox.native.postgres import reachable_tmp_dir
from de_sandbox.native.processes import is_listening
from de_sandbox.settings import REPO_ROOT

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


@pytest.fixture(scope="session")
def native_platform():
    """The native platform (PostgreSQL warehouse) on free ports; torn down and checked for leftovers."""
    data_dir = reachable_tmp_dir("de-sandbox-native-")
    platform = Platform.throwaway(data_dir, warehouse="postgres")
    supervisor = Supervisor(platform.settings.data_dir)
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
