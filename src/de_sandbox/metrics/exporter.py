"""Prometheus exporter: pipeline facts (read from the facts store at scrape time) and Airflow DAG run states.

Run it with `de-sandbox exporter`; it binds 127.0.0.1 unless EXPORTER_HOST says otherwise (compose: 0.0.0.0).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from de_sandbox.airflow_api import AirflowApi
from de_sandbox.metrics import facts
from de_sandbox.settings import get_monitoring_settings

log = logging.getLogger(__name__)

PREFIX = "de_sandbox_"
DAG_RUN_STATES = ("queued", "running", "success", "failed")
AIRFLOW_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, labels=labels)


class FactsCollector(Collector):
    """Turns the latest facts in the SQLite store into gauges (latest run) and counters (all runs)."""

    def __init__(self, db: Path | str | None = None) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        yield from self._families(facts.read_facts(self.db))

    def describe(self) -> Iterator[Metric]:
        """Every family this collector can produce, without reading the store."""
        yield from self._families(facts.empty_facts())

    def _families(self, snapshot: dict[str, list[Any]]) -> Iterator[Metric]:
        yield from self._dbt(snapshot["dbt"])
        yield from self._gx(snapshot["gx"], snapshot["gx_counts"])
        yield from self._ingestion(snapshot["ingestion"], snapshot["ingestion_totals"])
        yield from self._freshness(snapshot["freshness"])

    @staticmethod
    def _dbt(rows: list[Any]) -> Iterator[Metric]:
        model_labels = ["dag_id", "model", "resource_type"]
        status = _gauge(
            "dbt_model_status",
            "Latest dbt status per model/seed/snapshot (1 = this status)",
            [*model_labels, "status"],
        )
        duration = _gauge(
            "dbt_model_duration_seconds", "Execution time of the latest dbt run per node", model_labels
        )
        rows_affected = _gauge(
            "dbt_model_rows_affected", "Rows affected by the latest dbt run per node", model_labels
        )
        last_run = _gauge(
            "dbt_model_last_run_timestamp_seconds",
            "When the latest dbt result per node was recorded",
            model_labels,
        )
        test_labels = ["dag_id", "test", "model"]
        test_status = _gauge(
            "dbt_test_status", "Latest dbt test status (1 = this status)", [*test_labels, "status"]
        )
        test_failures = _gauge(
            "dbt_test_failures", "Failing rows found by the latest run of each dbt test", test_labels
        )
        for row in rows:
            if row["resource_type"] in facts.MODEL_RESOURCE_TYPES:
                labels = [row["dag_id"], row["name"], row["resource_type"]]
                status.add_metric([*labels, row["status"]], 1)
                if row["execution_time"] is not None:
                    duration.add_metric(labels, row["execution_time"])
                if row["rows_affected"] is not None:
                    rows_affected.add_metric(labels, row["rows_affected"])
                last_run.add_metric(labels, row["recorded_at"])
            elif row["resource_type"] in facts.TEST_RESOURCE_TYPES:
                labels = [row["dag_id"], row["name"], row["model"]]
                test_status.add_metric([*labels, row["status"]], 1)
                test_failures.add_metric(labels, row["failures"] or 0)
        yield from (status, duration, rows_affected, last_run, test_status, test_failures)

    @staticmethod
    def _gx(latest: list[Any], counts: list[Any]) -> Iterator[Metric]:
        expectations = _gauge(
            "gx_expectations",
            "Expectations of each suite's latest validation by outcome",
            ["suite", "outcome"],
        )
        success = _gauge("gx_validation_success", "1 if the suite's latest validation succeeded", ["suite"])
        last_run = _gauge(
            "gx_validation_timestamp_seconds", "When the suite's latest validation was recorded", ["suite"]
        )
        for row in latest:
            expectations.add_metric([row["suite"], "passed"], row["passed"])
            expectations.add_metric([row["suite"], "failed"], row["failed"])
            success.add_metric([row["suite"]], row["success"])
            last_run.add_metric([row["suite"]], row["recorded_at"])
        validations = CounterMetricFamily(
            PREFIX + "gx_validations", "GX validations recorded, by result", labels=["suite", "success"]
        )
        for row in counts:
            validations.add_metric([row["suite"], "true" if row["success"] else "false"], row["n"])
        yield from (expectations, success, last_run, validations)

    @staticmethod
    def _ingestion(latest: list[Any], totals: list[Any]) -> Iterator[Metric]:
        labels = ["pipeline", "table"]
        loaded = _gauge("rows_loaded", "Rows loaded by the latest ingestion run per table", labels)
        source = _gauge(
            "rows_source", "Rows the source delivered to the latest ingestion run per table", labels
        )
        quarantined = _gauge(
            "rows_quarantined", "Rows quarantined by the latest ingestion run per table", labels
        )
        status = _gauge(
            "ingestion_status",
            "Status of the latest ingestion run per table (1 = this status)",
            [*labels, "status"],
        )
        window_end = _gauge(
            "ingestion_window_end_timestamp_seconds", "End of the latest ingested window", labels
        )
        last_run = _gauge(
            "ingestion_last_run_timestamp_seconds", "When the latest ingestion run was recorded", labels
        )
        for row in latest:
            key = [row["pipeline"], row["table_name"]]
            loaded.add_metric(key, row["rows_loaded"])
            quarantined.add_metric(key, row["rows_quarantined"])
            if row["rows_source"] is not None:
                source.add_metric(key, row["rows_source"])
            status.add_metric([*key, row["status"]], 1)
            if row["window_end"] is not None:
                window_end.add_metric(key, row["window_end"])
            last_run.add_metric(key, row["recorded_at"])
        loaded_total = CounterMetricFamily(
            PREFIX + "ingestion_rows_loaded", "Rows loaded across all ingestion runs", labels=labels
        )
        quarantined_total = CounterMetricFamily(
            PREFIX + "ingestion_rows_quarantined", "Rows quarantined across all ingestion runs", labels=labels
        )
        for row in totals:
            key = [row["pipeline"], row["table_name"]]
            loaded_total.add_metric(key, row["rows_loaded"])
            quarantined_total.add_metric(key, row["rows_quarantined"])
        yield from (
            loaded,
            source,
            quarantined,
            status,
            window_end,
            last_run,
            loaded_total,
            quarantined_total,
        )

    @staticmethod
    def _freshness(rows: list[Any]) -> Iterator[Metric]:
        labels = ["source", "table"]
        age = _gauge("source_freshness_seconds", "Seconds since the source table was last loaded", labels)
        sla = _gauge("source_freshness_sla_seconds", "How stale the source table may get", labels)
        loaded_at = _gauge(
            "source_last_loaded_timestamp_seconds", "When the source table was last loaded", labels
        )
        now = time.time()
        for row in rows:
            key = [row["source"], row["table_name"]]
            age.add_metric(key, max(0.0, now - row["last_loaded_at"]))
            sla.add_metric(key, row["sla_seconds"])
            loaded_at.add_metric(key, row["last_loaded_at"])
        yield from (age, sla, loaded_at)


def _epoch(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


class AirflowCollector(Collector):
    """DAG run states and component health from the Airflow REST API, fetched at scrape time."""

    def __init__(self, api: AirflowApi) -> None:
        self.api = api

    def collect(self) -> Iterator[Metric]:
        try:
            health, dag_stats, latest_runs = self._fetch()
        except (OSError, ValueError, KeyError) as exc:
            log.warning("Airflow API at %s unavailable: %s", self.api.base_url, exc)
            yield self._up(0)
            return
        yield self._up(1)
        yield from self._health(health)
        yield from self._dag_runs(dag_stats, latest_runs)

    def describe(self) -> Iterator[Metric]:
        """Every family this collector can produce, without asking the API."""
        yield self._up(None)
        yield from self._health({})
        yield from self._dag_runs([], {})

    def _fetch(self) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, dict[str, Any]]]:
        health = self.api.health()
        dag_stats = self.api.get_json("dagStats").get("dags", [])
        latest_runs = {}
        for dag in dag_stats:
            path = f"dags/{urllib.parse.quote(dag['dag_id'])}/dagRuns"
            runs = self.api.get_json(path, order_by="-id", limit=1).get("dag_runs", [])
            if runs:
                latest_runs[dag["dag_id"]] = runs[0]
        return health, dag_stats, latest_runs

    @staticmethod
    def _up(value: float | None) -> Metric:
        up = _gauge("airflow_api_up", "1 if the Airflow REST API answered this scrape", [])
        if value is not None:
            up.add_metric([], value)
        return up

    @staticmethod
    def _health(health: dict[str, Any]) -> Iterator[Metric]:
        healthy = _gauge(
            "airflow_component_healthy", "1 if the api-server reports the component healthy", ["component"]
        )
        heartbeat = _gauge(
            "airflow_heartbeat_timestamp_seconds", "Latest heartbeat of the component", ["component"]
        )
        for component in AIRFLOW_COMPONENTS:
            info = health.get(component)
            # A null status means the component never ran (e.g. no triggerer natively), not that it is down.
            if not info or info.get("status") is None:
                continue
            healthy.add_metric([component], 1 if info.get("status") == "healthy" else 0)
            latest = next(
                (v for k, v in info.items() if k.startswith("latest_") and k.endswith("heartbeat")), None
            )
            if latest:
                heartbeat.add_metric([component], _epoch(latest))
        yield from (healthy, heartbeat)

    @staticmethod
    def _dag_runs(
        dag_stats: list[dict[str, Any]], latest_runs: dict[str, dict[str, Any]]
    ) -> Iterator[Metric]:
        runs = _gauge("dag_runs", "DAG runs per state (Airflow dagStats)", ["dag_id", "state"])
        state = _gauge(
            "dag_run_state", "State of each DAG's latest run (1 = this state)", ["dag_id", "state"]
        )
        started = _gauge("dag_last_run_start_timestamp_seconds", "Start of each DAG's latest run", ["dag_id"])
        ended = _gauge(
            "dag_last_run_end_timestamp_seconds", "End of each DAG's latest finished run", ["dag_id"]
        )
        duration = _gauge(
            "dag_last_run_duration_seconds", "Duration of each DAG's latest run (so far)", ["dag_id"]
        )
        for dag in dag_stats:
            for stat in dag.get("stats", []):
                runs.add_metric([dag["dag_id"], stat["state"]], stat["count"])
        for dag_id, run in latest_runs.items():
            for candidate in DAG_RUN_STATES:
                state.add_metric([dag_id, candidate], 1 if run["state"] == candidate else 0)
            start, end = _epoch(run.get("start_date")), _epoch(run.get("end_date"))
            if start is not None:
                started.add_metric([dag_id], start)
                duration.add_metric([dag_id], (end or time.time()) - start)
            if end is not None:
                ended.add_metric([dag_id], end)
        yield from (runs, state, started, ended, duration)


def metric_names() -> set[str]:
    """Sample names the exporter can expose (counters gain `_total`), for checking dashboards and rules."""
    families = [*FactsCollector().describe(), *AirflowCollector(None).describe()]  # type: ignore[arg-type]
    return {f.name + "_total" if f.type == "counter" else f.name for f in families}


def build_registry(db: Path | str | None = None, airflow_api: AirflowApi | None = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FactsCollector(db))
    if airflow_api is not None:
        registry.register(AirflowCollector(airflow_api))
    return registry


def serve(host: str, port: int, db: Path | str | None = None, airflow_api_url: str = "") -> None:
    """Serve /metrics until SIGTERM or SIGINT."""
    settings = get_monitoring_settings()
    api = None
    if airflow_api_url:
        api = AirflowApi(airflow_api_url, settings.airflow_admin_user, settings.airflow_admin_password)
    server, thread = start_http_server(port, addr=host, registry=build_registry(db, api))
    print(
        f"[de-sandbox] exporter serving http://{host}:{port}/metrics (facts: {facts.db_path(db)}, "
        f"airflow: {airflow_api_url or 'off'})",
        flush=True,
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    thread.join(timeout=5)


def register(subparsers: argparse._SubParsersAction) -> None:
    settings = get_monitoring_settings()
    parser = subparsers.add_parser(
        "exporter", help="serve pipeline facts and DAG run states as Prometheus metrics"
    )
    parser.add_argument("--host", default=settings.exporter_host, help="bind address (EXPORTER_HOST)")
    parser.add_argument("--port", type=int, default=settings.exporter_port, help="port (EXPORTER_PORT)")
    parser.add_argument("--db", default=str(settings.metrics_db_path), help="facts store (METRICS_DB_PATH)")
    parser.add_argument(
        "--airflow-api-url",
        default=settings.airflow_api_url,
        help="Airflow api-server base URL for DAG run states (AIRFLOW_API_URL); empty: off",
    )
    parser.set_defaults(func=lambda args: serve(args.host, args.port, args.db, args.airflow_api_url))
