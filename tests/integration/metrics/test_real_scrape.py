"""Real Prometheus scrapes the exporter while a real Airflow DAG records facts; PromQL returns its facts.

The DAG (dags/metrics_probe.py here) loads counts, records a real dbt build and runs a real GX validation; the
exporter also asks a real Airflow api-server for the run's state. Every dashboard query is then evaluated, and
the panels that returned data are written to test-output/metrics/panels_with_data.json.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from helpers.monitoring_queries import map_statsd_name, promql_queries
from metrics_helpers import (
    exporter_argv,
    free_port,
    query,
    run_prometheus,
    running,
    wait_for,
    wait_http,
)

from de_sandbox.native.processes import stop_group
from de_sandbox.settings import REPO_ROOT

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
REPORT = REPO_ROOT / "test-output" / "metrics" / "panels_with_data.json"
# Panels whose queries read only what this test produces: the exporter's facts and the Airflow REST API.
PANELS_WITH_DATA = {
    "Scrape targets up",
    "Airflow components",
    "DAG runs by state",
    "Latest run per DAG",
    "Last run per DAG",
    "Run duration trend per DAG",
    "Rows loaded per table (latest run)",
    "Rows loaded per hour",
    "Rows quarantined (latest run)",
    "dbt model durations (latest run)",
    "dbt models: status and rows",
    "dbt test failures",
    "GX expectations passed and failed per suite",
    "GX validation per suite",
    "Data freshness against SLA",
    "Data freshness per source",
}


def value(prometheus: str, promql: str) -> float:
    (sample,) = query(prometheus, promql)
    return float(sample["value"][1])


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory, dbt_probe_target) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow")
    (home / "dags").mkdir()
    shutil.copy(HERE / "dags" / "metrics_probe.py", home / "dags")
    (home / "passwords.json").write_text(json.dumps({"admin": "probe-password"}))
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": "metrics-probe-jwt-secret",
        "AIRFLOW_ADMIN_USER": "admin",
        "AIRFLOW_ADMIN_PASSWORD": "probe-password",
        "METRICS_DB_PATH": str(home / "facts.sqlite"),
        "PROBE_DBT_TARGET": str(dbt_probe_target),
        "GX_ANALYTICS_ENABLED": "False",
    }


@contextmanager
def statsd_listener() -> Iterator[tuple[int, list[str]]]:
    """A UDP socket standing in for statsd-exporter's listener: collects the StatsD lines Airflow sends."""
    lines: list[str] = []
    done = threading.Event()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)

        def receive() -> None:
            while not done.is_set():
                try:
                    lines.extend(sock.recv(65535).decode().splitlines())
                except TimeoutError:
                    continue

        thread = threading.Thread(target=receive, daemon=True)
        thread.start()
        try:
            yield sock.getsockname()[1], lines
        finally:
            done.set()
            thread.join(timeout=5)


def airflow(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("airflow")), *args]


@pytest.mark.timeout(1200)
def test_prometheus_returns_what_a_real_dag_run_recorded(airflow_env, prometheus_bin, tmp_path) -> None:
    env = {**os.environ, **airflow_env}
    logs = tmp_path
    migrate = subprocess.run(airflow("db", "migrate"), env=env, capture_output=True, text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stdout[-3000:] + migrate.stderr[-3000:]

    api_port, exporter_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    api_log = logs / "api-server.log"
    # The api-server starts while the DAG runs: both are slow, neither needs the other.
    with api_log.open("w") as out:
        api = subprocess.Popen(
            airflow("api-server", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1"),
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    exporter = exporter_argv(exporter_port, Path(airflow_env["METRICS_DB_PATH"]), api_url)
    exporter_url = f"http://127.0.0.1:{exporter_port}/metrics"
    try:
        with (
            running(exporter, logs / "exporter.log", exporter_url, env=airflow_env),
            run_prometheus(prometheus_bin, tmp_path / "prometheus", exporter_port) as prometheus,
        ):
            wait_for(prometheus, 'up{job="de-sandbox-exporter"} == 1')
            assert not query(prometheus, "de_sandbox_rows_loaded"), "facts before the DAG ran"
            with statsd_listener() as (statsd_port, statsd_lines):
                statsd = {
                    "AIRFLOW__METRICS__STATSD_ON": "True",
                    "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
                    "AIRFLOW__METRICS__STATSD_PORT": str(statsd_port),
                }
                run = subprocess.run(
                    airflow("dags", "test", "metrics_probe"),
                    env={**env, **statsd}, capture_output=True, text=True, timeout=900,
                )  # fmt: skip
            (logs / "dags-test.log").write_text(run.stdout + run.stderr)
            assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
            check_statsd_mapping(statsd_lines)
            wait_http(f"{api_url}/api/v2/monitor/health", api, api_log, timeout=600)
            wait_for(prometheus, 'de_sandbox_dag_run_state{dag_id="metrics_probe"} == 1', timeout=120)
            check_recorded_values(prometheus)
            check_alerts(prometheus)
            check_every_exporter_name_used_is_served(prometheus)
            write_panel_report(prometheus)
    finally:
        stop_group(api, timeout=30)


def check_recorded_values(prometheus: str) -> None:
    assert value(prometheus, 'de_sandbox_rows_loaded{pipeline="probe",table="raw_orders"}') == 40
    assert value(prometheus, 'de_sandbox_rows_quarantined{pipeline="probe",table="raw_orders"}') == 2
    assert value(prometheus, 'de_sandbox_gx_expectations{suite="probe_orders",outcome="passed"}') == 2
    assert value(prometheus, 'de_sandbox_gx_expectations{suite="probe_orders",outcome="failed"}') == 1
    assert value(prometheus, 'de_sandbox_gx_validation_success{suite="probe_orders"}') == 0
    assert (
        value(prometheus, 'de_sandbox_dbt_model_rows_affected{model="probe_orders",dag_id="metrics_probe"}')
        == 3
    )
    assert value(prometheus, 'de_sandbox_dbt_test_failures{test=~"accepted_values_.*"}') == 1
    assert value(prometheus, 'de_sandbox_dag_run_state{dag_id="metrics_probe",state="success"}') == 1
    assert value(prometheus, 'de_sandbox_dag_runs{dag_id="metrics_probe",state="success"}') == 1
    assert value(prometheus, 'de_sandbox_dag_last_run_duration_seconds{dag_id="metrics_probe"}') > 0
    stale = query(prometheus, "de_sandbox_source_freshness_seconds > de_sandbox_source_freshness_sla_seconds")
    assert [s["metric"]["table"] for s in stale] == ["raw_orders"]


def check_statsd_mapping(lines: list[str]) -> None:
    """Airflow's real StatsD names, mapped as statsd-exporter would: task metrics carry dag_id and task_id."""
    names = sorted({line.split(":", 1)[0] for line in lines})
    mapped = [(name, map_statsd_name(name)) for name in names]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    (REPORT.parent / "airflow_statsd_names.json").write_text(json.dumps(mapped, indent=2) + "\n")
    finished = {
        (labels["task_id"], labels["state"])
        for _, m in mapped
        if m and m[:2] == ("map", "airflow_ti_finish")
        for labels in [m[2]]
        if labels["dag_id"] == "metrics_probe"
    }
    assert finished == {("load_orders", "success"), ("transform", "success"), ("validate_orders", "success")}
    assert ("airflow.ti.finish", ("drop", "dropped", {})) in mapped, "the untagged twin must be dropped"


def check_alerts(prometheus: str) -> None:
    firing = wait_for(
        prometheus, 'ALERTS{alertstate="firing",alertname=~"GxValidationFailed|SourceFreshnessBreached"}'
    )
    assert {(a["metric"]["alertname"], a["metric"].get("suite") or a["metric"]["table"]) for a in firing} == {
        ("GxValidationFailed", "probe_orders"),
        ("SourceFreshnessBreached", "raw_orders"),
    }
    assert not query(prometheus, 'ALERTS{alertname="DagRunFailed"}')


def check_every_exporter_name_used_is_served(prometheus: str) -> None:
    from helpers.monitoring_queries import metric_names

    served = set(requests.get(f"{prometheus}/api/v1/label/__name__/values", timeout=10).json()["data"])
    used = {n for q in promql_queries() for n in metric_names(q.expr) if n.startswith("de_sandbox_")}
    # Heartbeat timestamps appear only once a scheduler has heartbeated; no scheduler runs in this test.
    assert used - served == {"de_sandbox_airflow_heartbeat_timestamp_seconds"}


def write_panel_report(prometheus: str) -> None:
    panels: dict[str, dict] = {}
    for q in promql_queries():
        if q.source.endswith(".yml"):
            continue
        entry = panels.setdefault(q.title, {"dashboard": q.source.split("#")[0], "queries": {}})
        entry["queries"][q.expr] = len(query(prometheus, q.for_prometheus()))
    with_data = {title for title, entry in panels.items() if any(entry["queries"].values())}
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"panels_with_data": sorted(with_data), "panels": panels}, indent=2) + "\n")
    assert with_data >= PANELS_WITH_DATA, f"panels without data: {sorted(PANELS_WITH_DATA - with_data)}"
