"""Exporter collectors: facts become the documented metrics; an unreachable Airflow API shows as down."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from de_sandbox.airflow_api import AirflowApi
from de_sandbox.metrics import exporter, facts


def scrape(registry) -> dict[tuple[str, tuple], float]:
    samples = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def record_everything(db) -> None:
    facts.record_ingestion("shop", "raw_orders", "2026-01-01", "2026-01-02", 42, 40, 2, "success", db=db)
    facts.record_freshness("shop", "raw_orders", datetime.now(UTC) - timedelta(hours=2), 3600, db=db)
    facts.record_gx_results(
        {"suite_name": "orders", "success": False, "statistics": {"evaluated_expectations": 3,
         "successful_expectations": 2}},
        "example_pipeline",
        "run1",
        db=db,
    )  # fmt: skip


def test_facts_become_metrics(tmp_path) -> None:
    db = tmp_path / "facts.sqlite"
    record_everything(db)
    samples = scrape(exporter.build_registry(db))
    table = (("pipeline", "shop"), ("table", "raw_orders"))
    assert samples[("de_sandbox_rows_loaded", table)] == 40
    assert samples[("de_sandbox_rows_quarantined", table)] == 2
    assert samples[("de_sandbox_rows_source", table)] == 42
    assert samples[("de_sandbox_ingestion_rows_loaded_total", table)] == 40
    assert samples[("de_sandbox_gx_expectations", (("outcome", "passed"), ("suite", "orders")))] == 2
    assert samples[("de_sandbox_gx_expectations", (("outcome", "failed"), ("suite", "orders")))] == 1
    assert samples[("de_sandbox_gx_validation_success", (("suite", "orders"),))] == 0
    source = (("source", "shop"), ("table", "raw_orders"))
    assert 7190 < samples[("de_sandbox_source_freshness_seconds", source)] < 7300
    assert samples[("de_sandbox_source_freshness_sla_seconds", source)] == 3600


def test_every_exposed_name_is_declared(tmp_path) -> None:
    db = tmp_path / "facts.sqlite"
    record_everything(db)
    exposed = {name for name, _ in scrape(exporter.build_registry(db))}
    assert exposed
    assert exposed <= exporter.metric_names()


def test_without_airflow_url_no_airflow_metrics(tmp_path) -> None:
    names = {name for name, _ in scrape(exporter.build_registry(tmp_path / "none.sqlite"))}
    assert not any(name.startswith(("de_sandbox_airflow", "de_sandbox_dag")) for name in names)


def test_unreachable_airflow_api_is_reported_down(tmp_path) -> None:
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    api = AirflowApi(f"http://127.0.0.1:{port}", "admin", "pw", timeout=2)
    samples = scrape(exporter.build_registry(tmp_path / "none.sqlite", api))
    assert samples[("de_sandbox_airflow_api_up", ())] == 0
    assert not any(name.startswith("de_sandbox_dag") for name, _ in samples)
