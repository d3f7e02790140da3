"""Grafana provisioning and dashboards: valid JSON, known datasource uids, metric names that are produced."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from helpers.monitoring_queries import DASHBOARDS_DIR, MONITORING_DIR, all_queries, metric_names

from de_sandbox.metrics import exporter

GRAFANA = MONITORING_DIR / "grafana"
STATSD_MAPPING = MONITORING_DIR / "statsd-exporter" / "statsd_mapping.yml"
THIRD_PARTY = MONITORING_DIR / "prometheus" / "third_party_metrics.yml"
DASHBOARDS = sorted(DASHBOARDS_DIR.glob("*.json"))
# statsd-exporter turns timers into histograms: one mapped name yields these series.
HISTOGRAM_SUFFIXES = ("", "_sum", "_count", "_bucket")


def provisioned_datasources() -> dict[str, str]:
    config = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yml").read_text())
    return {ds["uid"]: ds["type"] for ds in config["datasources"]}


def statsd_metric_names() -> set[str]:
    mappings = yaml.safe_load(STATSD_MAPPING.read_text())["mappings"]
    names = {m["name"] for m in mappings if m.get("action", "map") == "map"}
    return {name + suffix for name in names for suffix in HISTOGRAM_SUFFIXES}


def third_party_metric_names() -> set[str]:
    return {name for names in yaml.safe_load(THIRD_PARTY.read_text()).values() for name in names}


def test_the_three_dashboards_exist() -> None:
    titles = {json.loads(p.read_text())["title"] for p in DASHBOARDS}
    assert titles == {
        "DE Sandbox: Platform overview",
        "DE Sandbox: Pipelines and data quality",
        "DE Sandbox: Logs",
    }


def test_datasources_prometheus_loki_and_the_warehouse() -> None:
    assert provisioned_datasources() == {
        "prometheus": "prometheus",
        "loki": "loki",
        "warehouse": "grafana-postgresql-datasource",
    }
    raw = (GRAFANA / "provisioning" / "datasources" / "datasources.yml").read_text()
    assert "$POSTGRES_PASSWORD" in raw, "the warehouse password must come from the environment"


def test_dashboard_provider_loads_the_dashboards_folder() -> None:
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "dashboards.yml").read_text())
    assert [p["type"] for p in provider["providers"]] == ["file"]
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_valid_with_known_datasource_uids(path) -> None:
    dashboard = json.loads(path.read_text())
    datasources = provisioned_datasources()
    assert dashboard["uid"] and dashboard["panels"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    used = [dashboard["templating"]["list"], *dashboard["panels"]]
    for item in json.loads(json.dumps(used)):
        for node in _walk(item):
            ref = node.get("datasource")
            if isinstance(ref, dict):
                assert ref["uid"] in datasources, f"{path.name}: unknown datasource uid {ref['uid']}"
                assert ref["type"] == datasources[ref["uid"]], f"{path.name}: type mismatch for {ref['uid']}"
    for panel in dashboard["panels"]:
        assert panel["targets"], f"{path.name}: panel {panel['title']!r} has no query"
        assert all(t.get("expr") or t.get("rawSql") for t in panel["targets"])


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_every_promql_metric_name_is_produced_by_a_known_source() -> None:
    produced = exporter.metric_names() | statsd_metric_names() | third_party_metric_names()
    queries = [q for q in all_queries() if q.datasource_uid == "prometheus"]
    assert len(queries) > 30
    unknown = {
        (q.source, q.title, name) for q in queries for name in metric_names(q.expr) if name not in produced
    }
    assert not unknown, f"metric names nobody produces: {sorted(unknown)}"


def test_metric_name_extraction_sees_through_functions_labels_and_modifiers() -> None:
    expr = (
        'sum by (dag_id) (rate(a_total{state="x"}[5m])) / on (dag_id) group_left (pool) b_seconds > bool 1e3'
    )
    assert metric_names(expr) == {"a_total", "b_seconds"}
    assert metric_names('time() - c{component="scheduler"} offset 5m') == {"c"}


def test_a_name_nobody_produces_is_caught() -> None:
    produced = exporter.metric_names() | statsd_metric_names() | third_party_metric_names()
    assert "de_sandbox_rows_loaded" in produced
    assert not {"de_sandbox_row_loaded", "airflow_ti_finished"} & produced


def test_logql_selectors_only_use_labels_alloy_sets() -> None:
    alloy = (MONITORING_DIR / "alloy" / "config.alloy").read_text()
    labels = set(re.findall(r'target_label\s*=\s*"(\w+)"', alloy))
    labels |= set(
        re.findall(r"^\s*(\w+)\s*=\s*\"", re.search(r"path_targets = \[\{(.*?)\}\]", alloy, re.S)[1], re.M)
    )
    labels |= {"job", "filename"} | set(re.findall(r"values = \{(\w+) = \"\"\}", alloy))
    logql = [q for q in all_queries() if q.datasource_uid == "loki"]
    assert logql
    for query in logql:
        for selector in re.findall(r"\{([^}]*)\}", query.expr):
            used = set(re.findall(r"(\w+)\s*(?:=~|!=|!~|=)", selector))
            assert used <= labels, f"{query.title}: labels {used - labels} are never set by Alloy"
