"""Start-up helpers of the Docker Compose platform behind `make up`: engine and port checks before, a clear
report of what failed after, the table of URLs and logins. Standard library only: runs on the host's python3, and
reads ports and logins from `docker compose config`, so .env means exactly what it means to Compose.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass

from de_sandbox.envfile import ensure_env_file
from de_sandbox.settings import REPO_ROOT

COMPOSE = ["docker", "compose"]
LOG_LINES = 40


@dataclass(frozen=True)
class Endpoint:
    """One service port published on 127.0.0.1; `port_var` names the .env setting that moves it."""

    name: str
    service: str
    port: int
    port_var: str
    path: str = ""
    scheme: str = "http"
    # Where the login is: the environment keys of `login_service` (default: `service`) in the compose model.
    user_key: str = ""
    login_service: str = ""


ENDPOINTS = (
    Endpoint(
        "Airflow UI / API",
        "airflow-apiserver",
        8080,
        "AIRFLOW_PORT",
        "/",
        user_key="AIRFLOW_ADMIN_USER",
        login_service="airflow-init",
    ),
    Endpoint(
        "Grafana",
        "grafana",
        3000,
        "GRAFANA_PORT",
        "/",
        user_key="GF_SECURITY_ADMIN_USER",
    ),
    Endpoint(
        "MinIO console",
        "minio",
        9001,
        "MINIO_CONSOLE_PORT",
        "/",
        user_key="MINIO_ROOT_USER",
    ),
    Endpoint(
        "MinIO S3 API",
        "minio",
        9000,
        "MINIO_PORT",
        "/",
        user_key="MINIO_ROOT_USER",
    ),
    Endpoint("Prometheus", "prometheus", 9090, "PROMETHEUS_PORT", "/"),
    Endpoint("Alertmanager", "alertmanager", 9093, "ALERTMANAGER_PORT", "/"),
    Endpoint("Loki", "loki", 3100, "LOKI_PORT", "/ready"),
    Endpoint("statsd-exporter", "statsd-exporter", 9102, "STATSD_EXPORTER_PORT", "/metrics"),
    Endpoint("Metrics exporter", "metrics-exporter", 9108, "EXPORTER_PORT", "/metrics"),
    Endpoint(
        "PostgreSQL",
        "postgres",
        5432,
        "POSTGRES_PORT",
        "",
        scheme="postgresql",
        user_key="POSTGRES_USER",
    ),
    Endpoint("Flower (celery profile)", "flower", 5555, "FLOWER_PORT", "/"),
)


def _fail(message: str) -> int:
    print(f"[de-sandbox] ERROR: {message}", file=sys.stderr, flush=True)
    return 1


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, cwd=REPO_ROOT)


def engine_problem() -> str | None:
    """Say why `docker compose` cannot run here, or None when the engine and the Compose v2 plugin answer."""
    if shutil.which("docker") is None:
        return "the `docker` command is not installed: install Docker (Engine or Desktop) first."
    info = _run(["docker", "info", "--format", "{{.ServerVersion}}"])
    if info.returncode != 0:
        detail = (info.stderr or info.stdout).strip().splitlines()
        return (
            "no Docker engine answers (`docker info` failed"
            + (f": {detail[-1]}" if detail else "")
            + "). Start Docker, or check that your user may use it (the `docker` group)."
        )
    if _run([*COMPOSE, "version"]).returncode != 0:
        return "the Docker Compose v2 plugin is missing (`docker compose version` failed): install it."
    return None


def compose_model() -> dict:
    """`docker compose config --format json`: services, ports and environments as Compose resolves .env."""
    result = _run([*COMPOSE, "config", "--format", "json"])
    if result.returncode != 0:
        raise RuntimeError((result.stderr or result.stdout).strip())
    return json.loads(result.stdout)


def published(model: dict, endpoint: Endpoint) -> int | None:
    """The host port `endpoint` is published on, or None when its service is not in the model (profile)."""
    service = model["services"].get(endpoint.service) or {}
    ports = [p for p in service.get("ports") or [] if p.get("target") == endpoint.port and p.get("published")]
    return int(ports[0]["published"]) if ports else None


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def busy_ports(model: dict, endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> list[str]:
    """Host ports the stack would publish that something else already holds, each with its .env name."""
    busy = []
    for endpoint in endpoints:
        port = published(model, endpoint)
        if port is not None and not _port_free(port):
            busy.append(f"{endpoint.port_var}={port} ({endpoint.name})")
    return busy


def airflow_uid(model: dict) -> str:
    """The uid the Airflow containers run as (`user:` of the long-running Airflow services)."""
    return str(model["services"]["airflow-scheduler"].get("user", "")).split(":", 1)[0]


def _stack_running() -> bool:
    result = _run([*COMPOSE, "ps", "--quiet"])
    return result.returncode == 0 and bool(result.stdout.strip())


def preflight() -> int:
    """Before `docker compose up`: engine present, .env present, host ports free, AIRFLOW_UID sensible."""
    problem = engine_problem()
    if problem:
        return _fail(problem)
    ensure_env_file()
    try:
        model = compose_model()
    except RuntimeError as error:
        return _fail(f"`docker compose config` rejects the stack: {error}")
    if not _stack_running():
        busy = busy_ports(model)
        if busy:
            return _fail(
                "these host ports are already in use: "
                + ", ".join(busy)
                + ". Stop what holds them (the native platform?) or choose other ports in .env."
            )
    uid, configured = os.getuid() if hasattr(os, "getuid") else 0, airflow_uid(model)
    if sys.platform.startswith("linux") and uid != 0 and configured != str(uid):
        print(
            f"[de-sandbox] warning: AIRFLOW_UID={configured} but you are uid {uid}: files "
            f"Airflow writes into the mounted folders will not be yours. Set AIRFLOW_UID={uid} in .env.",
            flush=True,
        )
    return 0


def require_engine() -> int:
    problem = engine_problem()
    return _fail(problem) if problem else 0


def _containers() -> list[dict]:
    result = _run([*COMPOSE, "ps", "--all", "--format", "json"])
    text = result.stdout.strip()
    if result.returncode != 0 or not text:
        return []
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def failed_services(containers: list[dict], expected: list[str]) -> list[tuple[str, str]]:
    """(service, why) for every container that is not healthy/running or did not finish cleanly."""
    seen, failed = set(), []
    for container in containers:
        service = container.get("Service", container.get("Name", "?"))
        seen.add(service)
        state, health = container.get("State", ""), container.get("Health", "")
        exit_code = container.get("ExitCode", 0)
        if state == "exited" and exit_code == 0:
            continue
        if state == "exited":
            failed.append((service, f"exited with code {exit_code}"))
        elif health and health != "healthy":
            failed.append((service, f"{state}, health {health}"))
        elif state != "running":
            failed.append((service, state or "unknown state"))
    failed += [
        (service, "never started (a service it depends on failed)")
        for service in expected
        if service not in seen
    ]
    return failed


def diagnose() -> int:
    """After a failed `up --wait`: name each unhealthy or failed service and show its last log lines."""
    expected = _run([*COMPOSE, "config", "--services"]).stdout.split()
    failed = failed_services(_containers(), expected)
    if not failed:
        return _fail("`docker compose up` failed before any service reported; see its output above.")
    print("\n[de-sandbox] the platform did not become healthy:", file=sys.stderr)
    for service, why in failed:
        print(f"  - {service}: {why}", file=sys.stderr)
    for service, why in failed:
        if why.startswith("never started"):
            continue
        print(f"\n----- last {LOG_LINES} log lines of {service} -----", file=sys.stderr, flush=True)
        subprocess.run([*COMPOSE, "logs", "--no-color", "--tail", str(LOG_LINES), service], cwd=REPO_ROOT)
    print(
        "\n[de-sandbox] fix the cause and `make up` again; `make clean` resets all data (see README).",
        file=sys.stderr,
    )
    return 1


def url_table(model: dict, endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> str:
    """The URLs and logins of the stack, as `docker compose config` resolves them from .env."""
    services = model["services"]
    rows = [("Service", "URL", "Login")]
    for endpoint in endpoints:
        port = published(model, endpoint)
        if port is None:
            continue
        url = f"{endpoint.scheme}://127.0.0.1:{port}{endpoint.path}"
        if endpoint.scheme == "postgresql":
            env = services[endpoint.service].get("environment") or {}
            url += f"/{env.get('POSTGRES_DB', 'airflow')} and /{env.get('WAREHOUSE_DB', 'warehouse')}"
        login = "-"
        if endpoint.user_key:
            env = services.get(endpoint.login_service or endpoint.service, {}).get("environment") or {}
            # Passwords stay in .env: make's output (terminals, CI logs) never shows a secret.
            login = f"{env.get(endpoint.user_key, '?')} (password in .env)"
        rows.append((endpoint.name, url, login))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(row[i].ljust(widths[i]) for i in range(3)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def print_urls() -> int:
    try:
        model = compose_model()
    except RuntimeError as error:
        return _fail(f"`docker compose config` failed: {error}")
    print("\nDE Sandbox is up (logins come from .env):\n")
    print(url_table(model))
    return 0


ACTIONS = {
    "preflight": preflight,
    "require-engine": require_engine,
    "diagnose": diagnose,
    "urls": print_urls,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compose", help="Docker Compose platform helpers used by make up/down/clean"
    )
    parser.add_argument("action", choices=sorted(ACTIONS))
    parser.set_defaults(func=lambda args: ACTIONS[args.action]())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m de_sandbox.compose.preflight", description=__doc__)
    parser.add_argument("action", choices=sorted(ACTIONS))
    return ACTIONS[parser.parse_args(argv).action]()


if __name__ == "__main__":
    sys.exit(main())
