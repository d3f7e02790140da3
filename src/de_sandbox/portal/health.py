"""Every service of the running platform, checked the way its own health check does, with a link to its UI.

DE_SANDBOX_RUNTIME says which platform runs the portal: `native` (make local-up; process state from the pid
files under DATA_DIR) or `compose` (service names on the compose network, links on the host's ports).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from de_sandbox.native.supervisor import Supervisor
from de_sandbox.settings import (
    Settings,
    get_ingestion_settings,
    get_monitoring_settings,
    published_port,
    runtime,
)
from de_sandbox.warehouse import postgres_connection

CHECK_TIMEOUT_S = 2.0
HEALTHY, UNHEALTHY, STOPPED = "healthy", "unhealthy", "stopped"


@dataclass(frozen=True)
class Probe:
    """One service: `check()` answers (healthy?, how it was checked); `running()` False means stopped."""

    name: str
    check: Callable[[], tuple[bool, str]]
    running: Callable[[], bool]
    link: str | None = None


@dataclass(frozen=True)
class ServiceState:
    name: str
    status: str
    detail: str
    link: str | None


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=CHECK_TIMEOUT_S):
            return True
    except OSError:
        return False


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


def http_check(url: str) -> Callable[[], tuple[bool, str]]:
    def check() -> tuple[bool, str]:
        try:
            response = requests.get(url, timeout=CHECK_TIMEOUT_S)
        except requests.RequestException as error:
            return False, f"GET {url}: {type(error).__name__}"
        return response.status_code == 200, f"GET {url} answered {response.status_code}"

    return check


def airflow_component(health_url: str, key: str) -> Callable[[], tuple[bool, str]]:
    """A component as the api-server's /api/v2/monitor/health reports it (status and latest heartbeat)."""

    def check() -> tuple[bool, str]:
        try:
            report = requests.get(health_url, timeout=CHECK_TIMEOUT_S).json().get(key) or {}
        except (requests.RequestException, ValueError) as error:
            return False, f"GET {health_url}: {type(error).__name__}"
        heartbeat = next((v for k, v in report.items() if k.startswith("latest") and v), None)
        detail = f"{health_url} reports {key} {report.get('status', 'unknown')}"
        return report.get("status") == HEALTHY, detail + (f", heartbeat {heartbeat}" if heartbeat else "")

    return check


def postgres_check(settings: Settings) -> Callable[[], tuple[bool, str]]:
    def check() -> tuple[bool, str]:
        import psycopg2

        where = f"{settings.postgres_host}:{settings.postgres_port}/{settings.airflow_db}"
        try:
            with (
                postgres_connection(settings, settings.airflow_db, int(CHECK_TIMEOUT_S)) as conn,
                conn.cursor() as cursor,
            ):
                cursor.execute("select 1")
                cursor.fetchone()
        except psycopg2.Error as error:
            return False, f"connect to {where}: {str(error).strip().splitlines()[0]}"
        return True, f"select 1 on {where}"

    return check


def native_probes(settings: Settings) -> list[Probe]:
    monitoring = get_monitoring_settings()
    supervisor = Supervisor(settings.data_dir)
    from airflow.configuration import conf

    # The api-server this plugin runs in: Airflow's own configuration knows its address.
    api_url = (
        conf.get("api", "base_url", fallback=None)
        or f"http://127.0.0.1:{published_port('AIRFLOW_PORT', 8080)}"
    )
    health_url = f"{api_url.rstrip('/')}/api/v2/monitor/health"
    object_store = f"http://{get_ingestion_settings().minio_endpoint}"
    prometheus = f"http://127.0.0.1:{monitoring.prometheus_port}"
    exporter = f"http://127.0.0.1:{monitoring.exporter_port}"

    def process(name: str) -> Callable[[], bool]:
        return lambda: supervisor.running(name) is not None

    return [
        Probe(
            "postgres",
            postgres_check(settings),
            lambda: _listening(settings.postgres_host, settings.postgres_port),
        ),
        Probe("api-server", airflow_component(health_url, "metadatabase"), process("api-server"), api_url),
        Probe("scheduler", airflow_component(health_url, "scheduler"), process("scheduler"), api_url),
        Probe(
            "dag-processor", airflow_component(health_url, "dag_processor"), process("dag-processor"), api_url
        ),
        Probe("triggerer", airflow_component(health_url, "triggerer"), process("triggerer"), api_url),
        Probe(
            "object-store", http_check(object_store + "/"), lambda: _listening(*_endpoint(object_store)), None
        ),
        Probe("prometheus", http_check(f"{prometheus}/-/ready"), process("prometheus"), prometheus),
        Probe("exporter", http_check(f"{exporter}/metrics"), process("exporter"), f"{exporter}/metrics"),
    ]


def compose_probes(settings: Settings) -> list[Probe]:
    """Service names on the compose network; links point at the ports compose publishes on the host."""

    def host_link(variable: str, default: int, path: str = "") -> str:
        return f"http://127.0.0.1:{published_port(variable, default)}{path}"

    def reachable(url: str) -> Callable[[], bool]:
        return lambda: _listening(*_endpoint(url))

    health_url = "http://airflow-apiserver:8080/api/v2/monitor/health"
    airflow_link = host_link("AIRFLOW_PORT", 8080)
    http_services = [
        ("minio", "http://minio:9000/minio/health/live", host_link("MINIO_CONSOLE_PORT", 9001)),
        ("prometheus", "http://prometheus:9090/-/ready", host_link("PROMETHEUS_PORT", 9090)),
        ("exporter", "http://metrics-exporter:9108/metrics", host_link("EXPORTER_PORT", 9108, "/metrics")),
        (
            "statsd-exporter",
            "http://statsd-exporter:9102/metrics",
            host_link("STATSD_EXPORTER_PORT", 9102, "/metrics"),
        ),
        ("grafana", "http://grafana:3000/api/health", host_link("GRAFANA_PORT", 3000)),
        ("loki", "http://loki:3100/ready", host_link("LOKI_PORT", 3100, "/ready")),
        ("alertmanager", "http://alertmanager:9093/-/ready", host_link("ALERTMANAGER_PORT", 9093)),
    ]
    return [
        Probe("postgres", postgres_check(settings), lambda: _listening(settings.postgres_host, 5432)),
        *(
            Probe(name, airflow_component(health_url, key), reachable(health_url), airflow_link)
            for name, key in (
                ("api-server", "metadatabase"),
                ("scheduler", "scheduler"),
                ("dag-processor", "dag_processor"),
                ("triggerer", "triggerer"),
            )
        ),
        *(Probe(name, http_check(url), reachable(url), link) for name, url, link in http_services),
    ]


def _state(probe: Probe) -> ServiceState:
    try:
        if not probe.running():
            return ServiceState(
                probe.name, STOPPED, "not running (no live process or nothing listening)", None
            )
        healthy, detail = probe.check()
    except Exception as error:  # a failing check is a finding to show, not a page error
        healthy, detail = False, f"check failed: {type(error).__name__}: {error}"
    return ServiceState(probe.name, HEALTHY if healthy else UNHEALTHY, detail, probe.link)


def service_states(settings: Settings, probes: list[Probe] | None = None) -> list[ServiceState]:
    """Every probe run at once (each bounded by CHECK_TIMEOUT_S), in the probes' order."""
    if probes is None:
        probes = compose_probes(settings) if runtime() == "compose" else native_probes(settings)
    with ThreadPoolExecutor(max_workers=len(probes) or 1) as pool:
        return list(pool.map(_state, probes))
