"""de_sandbox.native.preload: the scheduler (native and compose) imports dbt before its executor forks task workers."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

from de_sandbox.compose import checks as compose_check
from de_sandbox.native import preload
from de_sandbox.native.platform import Platform
from de_sandbox.settings import get_settings

pytestmark = pytest.mark.timeout(180)


def test_runs_the_airflow_cli_after_loading_dbt():
    result = subprocess.run(
        [sys.executable, "-m", "de_sandbox.native.preload", "version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == version("apache-airflow")
    assert f"preloaded {', '.join(preload.PRELOAD_MODULES)}" in result.stderr


def test_a_missing_module_is_skipped_with_a_message(capsys):
    assert preload.preload(("json", "no_such_module_anywhere")) == ["json"]
    assert "skipped no_such_module_anywhere" in capsys.readouterr().err


def test_native_and_compose_schedulers_both_preload(monkeypatch):
    for name in ("AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET"):
        monkeypatch.setenv(name, "x")
    native = {spec.name: spec.argv for spec in Platform.from_settings(get_settings()).services()}
    assert native["scheduler"][1:4] == ["-m", "de_sandbox.native.preload", "scheduler"]
    monkeypatch.setenv("SCHEDULER_PRELOAD", "false")
    plain = {spec.name: spec.argv for spec in Platform.from_settings(get_settings()).services()}
    assert plain["scheduler"][0].endswith("/airflow") and plain["scheduler"][1:] == [
        "scheduler",
        "--skip-serve-logs",
    ]

    services = compose_check.load_yaml(compose_check.COMPOSE_FILE)["services"]
    for service, airflow_command in (("airflow-scheduler", "scheduler"), ("airflow-worker", "celery worker")):
        assert services[service]["command"] == f"python -m de_sandbox.native.preload {airflow_command}"
