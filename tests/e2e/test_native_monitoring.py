"""`make local-up`'s Prometheus scrapes the exporter: a DAG's facts and Airflow's health reach PromQL."""

from __future__ import annotations

import time

import pytest
import requests

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

PROBE_DAG = '''"""Records ingestion and freshness facts, as a real loader does (airflow)."""
import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["test"],
     default_args={{"owner": "monitoring", "retries": 0}})
def {dag_id}():
    @task
    def load():
        from de_sandbox.metrics import facts

        facts.record_ingestion("native_probe", "raw_events", None, pendulum.now("UTC"), 7, 6, 1, "success")
        facts.record_freshness("native_probe", "raw_events", pendulum.now("UTC"), 3600)

    load()


{dag_id}()
'''


def promql(platform, expr: str) -> list[dict]:
    answer = requests.get(
        f"http://127.0.0.1:{platform.prometheus_port}/api/v1/query", params={"query": expr}, timeout=10
    )
    answer.raise_for_status()
    return answer.json()["data"]["result"]


def wait_for(platform, expr: str, timeout: float = 90) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not (result := promql(platform, expr)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no data for {expr!r} after {timeout}s")
        time.sleep(2)
    return result


def test_prometheus_scrapes_the_exporter_and_sees_airflow_healthy(native_platform):
    up = wait_for(native_platform, 'up{job="de-sandbox-exporter"} == 1')
    assert up[0]["metric"]["instance"] == f"127.0.0.1:{native_platform.exporter_port}"
    healthy = wait_for(native_platform, "de_sandbox_airflow_component_healthy == 1")
    assert {s["metric"]["component"] for s in healthy} >= {"metadatabase", "scheduler", "dag_processor"}
    # the "Scheduler heartbeat age" panel's query
    (age,) = wait_for(
        native_platform, 'time() - de_sandbox_airflow_heartbeat_timestamp_seconds{component="scheduler"}'
    )
    assert float(age["value"][1]) < 120
    rules = requests.get(
        f"http://127.0.0.1:{native_platform.prometheus_port}/api/v1/rules", timeout=10
    ).json()
    alerts = {rule["name"] for group in rules["data"]["groups"] for rule in group["rules"]}
    assert {"DagRunFailed", "GxValidationFailed", "SchedulerHeartbeatMissing", "TargetDown"} <= alerts


def test_facts_recorded_by_a_triggered_dag_reach_prometheus(native_platform, airflow_api):
    dag_id = f"metrics_probe_{int(time.time())}"
    (native_platform.dags_folder / f"{dag_id}.py").write_text(PROBE_DAG.format(dag_id=dag_id))
    airflow_api.wait_for_dag(dag_id, timeout=60)
    run_id = airflow_api.trigger(dag_id)
    assert airflow_api.wait_for_run(dag_id, run_id, timeout=300) == "success"
    (rows,) = wait_for(native_platform, 'de_sandbox_rows_loaded{pipeline="native_probe",table="raw_events"}')
    assert rows["value"][1] == "6"
    wait_for(native_platform, f'de_sandbox_dag_run_state{{dag_id="{dag_id}",state="success"}} == 1')
