"""Every PromQL expression in every dashboard and rule parses in a real Prometheus (parse errors give 400)."""

from __future__ import annotations

import pytest
import requests
from helpers.monitoring_queries import promql_queries
from metrics_helpers import free_port, run_prometheus

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def prometheus(prometheus_bin, tmp_path_factory):
    with run_prometheus(prometheus_bin, tmp_path_factory.mktemp("prometheus"), free_port()) as url:
        yield url


def evaluate(prometheus: str, expr: str) -> requests.Response:
    return requests.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=10)


def test_every_dashboard_and_rule_expression_is_valid_promql(prometheus) -> None:
    queries = promql_queries()
    assert {q.source.split("#")[0] for q in queries} >= {
        "platform-overview.json",
        "pipelines-data-quality.json",
        "pipelines.yml",
        "platform.yml",
    }
    invalid = {}
    for q in queries:
        answer = evaluate(prometheus, q.for_prometheus())
        if answer.status_code != 200:
            invalid[f"{q.source} {q.title}"] = answer.json().get("error")
    assert not invalid


def test_an_invalid_expression_is_rejected(prometheus) -> None:
    answer = evaluate(prometheus, "sum by (dag_id (de_sandbox_rows_loaded)")
    assert answer.status_code == 400
    assert answer.json()["errorType"] == "bad_data"
