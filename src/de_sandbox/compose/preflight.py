"""Start-up helpers of the Docker Compose platform behind `make up`: engine and port checks before, a clear
report of what failed after, the table of URLs and logins. Standard library only: runs on the host's python3.
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
from de_sandbox.settings import REPO_ROOT, load_dotenv_file

COMPOSE = ["docker", "compose"]
LOG_LINES = 40


@dataclass(frozen=True)
class Endpoint:
    """One service published on 127.0.0.1: its host port comes from `port_var` in .env."""

    name: str
    port_var: str
    default_port: int
    path: str = ""
    scheme: str = "http"
    user_var: str = ""
    password_var: str = ""
    profile: str = ""


ENDPOINTS = (
    Endpoint(
        "Airflow UI / API",
        "AIRFLOW_PORT",
        8080,
        "/",
        user_var="AIRFLOW_ADMIN_USER",
        password_var="AIRFLOW_ADMIN_PASSWORD",
    ),
    Endpoint(
        "Grafana",
        "GRAFANA_PORT",
        3000,
        "/",
        user_var="GRAFANA_ADMIN_USER",
        password_var="GRAFANA_ADMIN_PASSWORD",
    ),
    Endpoint(
        "MinIO console",
        "MINIO_CONSOLE_PORT",
        9001,
        "/",
        user_var="MINIO_ROOT_USER",
        password_var="MINIO_ROOT_PASSWORD",
    ),
    Endpoint(
        "MinIO S3 API",
        "MINIO_PORT",
        9000,
        "/",
        user_var="MINIO_ROOT_USER",
        password_var="MINIO_ROOT_PASSWORD",
    ),
    Endpoint("Prometheus", "PROMETHEUS_PORT", 9090, "/"),
    Endpoint("Alertmanager", "ALERTMANAGER_PORT", 9093, "/"),
    Endpoint("Loki", "LOKI_PORT", 3100, "/ready"),
    Endpoint("statsd-exporter", "STATSD_EXPORTER_PORT", 9102, "/metrics"),
    Endpoint("Metrics exporter", "EXPORTER_PORT", 9108, "/metrics"),
    Endpoint(
        "PostgreSQL",
        "POSTGRES_PORT",
        5432,
        "",
        scheme="postgresql",
        user_var="POSTGRES_USER",
        password_var="POSTGRES_PASSWORD",
    ),
    Endpoint("Flower (celery profile)", "FLOWER_PORT", 5555, "/", profile="celery"),
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


def _active_profiles() -> set[str]:
    return {p for p in os.getenv("COMPOSE_PROFILES", "").split(",") if p}


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def busy_ports(endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> list[str]:
    """Host ports the stack would publish that something else already holds, each with its .env name."""
    profiles = _active_profiles()
    busy = []
    for endpoint in endpoints:
        if endpoint.profile and endpoint.profile not in profiles:
            continue
        port = int(os.getenv(endpoint.port_var, endpoint.default_port))
        if not _port_free(port):
            busy.append(f"{endpoint.port_var}={port} ({endpoint.name})")
    return busy


def _stack_running() -> bool:
    result = _run([*COMPOSE, "ps", "--quiet"])
    return result.returncode == 0 and bool(result.stdout.strip())


def preflight() -> int:
    """Before `docker compose up`: engine present, .env present, host ports free, AIRFLOW_UID sensible."""
    problem = engine_problem()
    if problem:
        return _fail(problem)
    ensure_env_file()
    load_dotenv_file()
    if not _stack_running():
        busy = busy_ports()
        if busy:
            return _fail(
                "these host ports are already in use: "
                + ", ".join(busy)
                + ". Stop what holds them (the native platform?) or choose other ports in .env."
            )
    uid = os.getuid() if hasattr(os, "getuid") else 0
    if sys.platform.startswith("linux") and uid != 0 and os.getenv("AIRFLOW_UID") != str(uid):
        print(
            f"[de-sandbox] warning: AIRFLOW_UID={os.getenv('AIRFLOW_UID')} but you are uid {uid}: files "
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


def url_table(endpoints: tuple[Endpoint, ...] = ENDPOINTS) -> str:
    """The URLs and logins of the running stack, read from the environment (.env)."""
    profiles = _active_profiles()
    rows = [("Service", "URL", "Login")]
    for endpoint in endpoints:
        if endpoint.profile and endpoint.profile not in profiles:
            continue
        port = os.getenv(endpoint.port_var, str(endpoint.default_port))
        url = f"{endpoint.scheme}://127.0.0.1:{port}{endpoint.path}"
        if endpoint.scheme == "postgresql":
            url += f"/{os.getenv('AIRFLOW_DB', 'airflow')} and /{os.getenv('WAREHOUSE_DB', 'warehouse')}"
        login = "-"
        if endpoint.user_var:
            login = f"{os.getenv(endpoint.user_var, '?')} / {os.getenv(endpoint.password_var, '?')}"
        rows.append((endpoint.name, url, login))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(row[i].ljust(widths[i]) for i in range(3)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def print_urls() -> int:
    load_dotenv_file()
    print("\nDE Sandbox is up (logins come from .env):\n")
    print(url_table())
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
