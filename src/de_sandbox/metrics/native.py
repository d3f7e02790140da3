"""How `make local-up` runs Prometheus and the project exporter natively: command, environment, readiness.

Prometheus cannot expand environment variables, so its config is rendered from the committed native template
with the ports from .env into DATA_DIR/prometheus, next to its own TSDB.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from de_sandbox.settings import REPO_ROOT, get_monitoring_settings, get_settings
from de_sandbox.system import ensure_apt_packages

PROMETHEUS_DIR = REPO_ROOT / "monitoring" / "prometheus"
NATIVE_TEMPLATE = PROMETHEUS_DIR / "prometheus.native.yml"


@dataclass(frozen=True)
class NativeService:
    """One long-running native process: what to run, with which extra environment, and when it is ready."""

    name: str
    argv: list[str]
    ready_url: str
    env: dict[str, str] = field(default_factory=dict)


def render_prometheus_config(
    target_dir: Path,
    prometheus_port: int,
    exporter_port: int,
    scrape_interval: str | None = None,
    template: Path = NATIVE_TEMPLATE,
) -> Path:
    """Write the native config with real ports and absolute rule paths; returns its path."""
    config = yaml.safe_load(template.read_text())
    ports = {"prometheus": prometheus_port, "de-sandbox-exporter": exporter_port}
    for job in config["scrape_configs"]:
        if job["job_name"] in ports:
            job["static_configs"] = [{"targets": [f"127.0.0.1:{ports[job['job_name']]}"]}]
    config["rule_files"] = [
        str((template.parent / pattern).resolve()) for pattern in config.get("rule_files", [])
    ]
    if scrape_interval:
        config["global"]["scrape_interval"] = scrape_interval
        config["global"]["evaluation_interval"] = scrape_interval
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def prometheus_binary() -> str:
    """Debian's Prometheus, installed on first use; only our own config and data dir are used."""
    ensure_apt_packages(["prometheus"])
    return shutil.which("prometheus") or "/usr/bin/prometheus"


def prometheus_argv(binary: str, config: Path, data_dir: Path, port: int) -> list[str]:
    return [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=15d",
        "--log.level=warn",
    ]


def prometheus_service_spec() -> NativeService:
    settings, monitoring = get_settings(), get_monitoring_settings()
    home = settings.data_dir / "prometheus"
    config = render_prometheus_config(home, monitoring.prometheus_port, monitoring.exporter_port)
    return NativeService(
        name="prometheus",
        argv=prometheus_argv(prometheus_binary(), config, home / "data", monitoring.prometheus_port),
        ready_url=f"http://127.0.0.1:{monitoring.prometheus_port}/-/ready",
    )


def exporter_service_spec(airflow_port: int | None = None) -> NativeService:
    """The exporter on loopback, asking the native api-server (AIRFLOW_PORT) for DAG run states."""
    monitoring = get_monitoring_settings()
    port = airflow_port or int(os.getenv("AIRFLOW_PORT", "8080"))
    api_url = monitoring.airflow_api_url or f"http://127.0.0.1:{port}"
    return NativeService(
        name="exporter",
        argv=[
            sys.executable,
            "-m",
            "de_sandbox.cli",
            "exporter",
            "--host=127.0.0.1",
            f"--port={monitoring.exporter_port}",
            f"--db={monitoring.metrics_db_path}",
            f"--airflow-api-url={api_url}",
        ],
        ready_url=f"http://127.0.0.1:{monitoring.exporter_port}/metrics",
    )
