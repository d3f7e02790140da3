"""Helpers for the metrics integration tests: free ports, managed processes, Prometheus queries."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from de_sandbox.native.monitoring import prometheus_argv, render_prometheus_config
from de_sandbox.native.processes import free_port, start_group, stop_group

HERE = Path(__file__).parent
DBT_PROBE = HERE / "dbt_probe"


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{process.args[0]} exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def running(argv: list[str], log: Path, ready_url: str, env: dict[str, str] | None = None,
            timeout: float = 180) -> Iterator[subprocess.Popen]:  # fmt: skip
    """Start a process in its own group, wait until ready_url answers, stop exactly that group afterwards."""
    with log.open("w") as out:
        process = start_group(argv, out, {**os.environ, **(env or {})})
    try:
        wait_http(ready_url, process, log, timeout)
        yield process
    finally:
        stop_group(process, timeout=30)


@contextmanager
def run_prometheus(prometheus_bin: str, workdir: Path, exporter_port: int) -> Iterator[str]:
    """Prometheus from the native template, scraping every second; yields its base URL."""
    port = free_port()
    config = render_prometheus_config(workdir, port, exporter_port, scrape_interval="1s")
    argv = prometheus_argv(prometheus_bin, config, workdir / "data", port)
    with running(argv, workdir / "prometheus.log", f"http://127.0.0.1:{port}/-/ready"):
        yield f"http://127.0.0.1:{port}"


def exporter_argv(port: int, db: Path, airflow_api_url: str = "") -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "de_sandbox.cli",
        "exporter",
        "--host=127.0.0.1",
        f"--port={port}",
        f"--db={db}",
    ]
    return [*argv, f"--airflow-api-url={airflow_api_url}"]


def query(prometheus_url: str, promql: str) -> list[dict]:
    answer = requests.get(f"{prometheus_url}/api/v1/query", params={"query": promql}, timeout=10)
    answer.raise_for_status()
    return answer.json()["data"]["result"]


def wait_for(prometheus_url: str, promql: str, timeout: float = 60) -> list[dict]:
    """Poll a query until it returns data (scrapes happen every second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = query(prometheus_url, promql)
        if result:
            return result
        time.sleep(1)
    raise TimeoutError(f"no data for {promql!r} after {timeout}s")
