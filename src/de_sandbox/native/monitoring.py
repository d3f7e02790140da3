"""How `make local-up` runs Prometheus and the project exporter natively: command, environment, readiness.

Prometheus cannot expand environment variables, so its config is rendered from the committed native template
with the ports from .env into DATA_DIR/prometheus, next to its own TSDB.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import requests
import yaml

from de_sandbox.native.apt import ensure_apt_packages
from de_sandbox.native.spec import ServiceSpec
from de_sandbox.settings import REPO_ROOT, get_monitoring_settings

PROMETHEUS_DIR = REPO_ROOT / "monitoring" / "prometheus"
NATIVE_TEMPLATE = PROMETHEUS_DIR / "prometheus.native.yml"


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


def _answers(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    return check


def facts_db_path(data_dir: Path) -> Path:
    """METRICS_DB_PATH when set, else the platform's DATA_DIR/metrics/facts.sqlite (where its tasks write)."""
    monitoring = get_monitoring_settings()
    return (
        monitoring.metrics_db_path
        if monitoring.metrics_db_path_set
        else data_dir / "metrics" / "facts.sqlite"
    )


def monitoring_services(
    data_dir: Path, prometheus_port: int, exporter_port: int, api_url: str, airflow_login: tuple[str, str]
) -> list[ServiceSpec]:
    """Prometheus and the project exporter for `make local-up`, both on 127.0.0.1."""
    home = data_dir / "prometheus"
    prometheus_url = f"http://127.0.0.1:{prometheus_port}"
    exporter_url = f"http://127.0.0.1:{exporter_port}"
    config = render_prometheus_config(home, prometheus_port, exporter_port)
    exporter = [
        *[sys.executable, "-m", "de_sandbox.cli", "exporter"],
        *["--host=127.0.0.1", f"--port={exporter_port}", f"--airflow-api-url={api_url}"],
        f"--db={facts_db_path(data_dir)}",
    ]
    return [
        ServiceSpec(
            "prometheus",
            prometheus_argv(prometheus_binary(), config, home / "data", prometheus_port),
            _answers(f"{prometheus_url}/-/ready"),
            ports=(prometheus_port,),
            url=prometheus_url,
        ),
        ServiceSpec(
            "exporter",
            exporter,
            _answers(f"{exporter_url}/metrics"),
            env={
                "AIRFLOW_ADMIN_USER": airflow_login[0],
                "AIRFLOW_ADMIN_PASSWORD": airflow_login[1],
            },
            ports=(exporter_port,),
            url=f"{exporter_url}/metrics",
        ),
    ]
