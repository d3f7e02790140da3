"""Airflow on the native platform: its four services and the one-time preparation of its metadata database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import requests

from de_sandbox.airflow_db import write_login_file
from de_sandbox.airflow_env import ensure_lineage_dir
from de_sandbox.native.processes import LOOPBACK
from de_sandbox.native.spec import ServiceSpec

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


def _json(url: str) -> dict:
    try:
        response = requests.get(url, timeout=2)
        return response.json() if response.ok else {}
    except (requests.RequestException, ValueError):
        return {}


def airflow_services(port: int, scheduler_preload: bool) -> list[ServiceSpec]:
    """api-server, scheduler, dag-processor and triggerer, each healthy when the api-server's monitor says so."""
    airflow = str(Path(sys.executable).parent / "airflow")
    api_url = f"http://{LOOPBACK}:{port}"
    health_url = f"{api_url}/api/v2/monitor/health"

    def component_healthy(key: str) -> Callable[[], bool]:
        return lambda: _json(health_url).get(key, {}).get("status") == "healthy"

    return [
        ServiceSpec(
            "api-server",
            [airflow, "api-server", "--host", LOOPBACK, "--port", str(port)],
            component_healthy("metadatabase"),
            ports=(port,),
            url=api_url,
        ),
        # Tasks are forked from the scheduler's executor workers: preloading dbt saves each task ~5 s.
        ServiceSpec(
            "scheduler",
            [
                *([sys.executable, "-m", "de_sandbox.native.preload"] if scheduler_preload else [airflow]),
                *["scheduler", "--skip-serve-logs"],
            ],
            component_healthy("scheduler"),
        ),
        ServiceSpec("dag-processor", [airflow, "dag-processor"], component_healthy("dag_processor")),
        ServiceSpec("triggerer", [airflow, "triggerer", "--skip-serve-logs"], component_healthy("triggerer")),
    ]


def prepare_airflow(
    home: Path,
    env: dict[str, str],
    login: tuple[str, str],
    log: Path,
    schema_exists: Callable[[], bool],
) -> None:
    """Write the login file; migrate the metadata DB and create the pools once per Airflow version."""
    home.mkdir(parents=True, exist_ok=True)
    ensure_lineage_dir(env)
    write_login_file(Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]), *login)
    stamp = home / "migrated-to"
    version = _airflow_version()
    if stamp.is_file() and stamp.read_text().strip() == version and schema_exists():
        return
    with log.open("ab") as out:
        result = subprocess.run(
            [sys.executable, "-m", "de_sandbox.airflow_db", "--migrate"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"airflow metadata migration failed\n--- {log} ---\n{tail}")
    stamp.write_text(version + "\n")


def _airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow")
