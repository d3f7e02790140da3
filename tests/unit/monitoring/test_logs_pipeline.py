"""Alloy and Loki config: components wired up, container labels, dag_id/task_id from Airflow's log paths."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
import yaml
from helpers.monitoring_queries import MONITORING_DIR

ALLOY = (MONITORING_DIR / "alloy" / "config.alloy").read_text()
LOKI = yaml.safe_load((MONITORING_DIR / "loki" / "loki-config.yaml").read_text())
AIRFLOW_DIR = Path(importlib.util.find_spec("airflow").submodule_search_locations[0])


def alloy_blocks() -> set[str]:
    return {f"{kind}.{label}" for kind, label in re.findall(r'^([a-z_.]+) "(\w+)" \{', ALLOY, re.M)}


def relabel_rules(block: str) -> list[dict]:
    body = re.search(rf'discovery\.relabel "{block}" \{{(.*?)\n\}}', ALLOY, re.S)[1]
    rules = []
    for rule in re.findall(r"rule \{(.*?)\n  \}", body, re.S):
        # Alloy strings use the same escapes as JSON for what we write here.
        fields = {k: json.loads(v) for k, v in re.findall(r'(\w+)\s*=\s*("(?:\\.|[^"\\])*")', rule)}
        fields["source_labels"] = json.loads(re.search(r"source_labels\s*=\s*(\[[^\]]*\])", rule)[1])
        rules.append(fields)
    return rules


def apply_relabel(rules: list[dict], labels: dict[str, str]) -> dict[str, str]:
    """Prometheus relabelling (action replace): anchored regex over the joined source labels."""
    result = dict(labels)
    for rule in rules:
        value = ";".join(labels.get(name, "") for name in rule["source_labels"])
        match = re.fullmatch(rule.get("regex", "(.*)"), value)
        if match:
            replacement = rule.get("replacement", "$1")
            result[rule["target_label"]] = match.expand(re.sub(r"\$(\d+)", r"\\\1", replacement))
    return result


def test_alloy_braces_balance_and_references_resolve() -> None:
    code = re.sub(r'"(?:\\.|[^"\\])*"', '""', re.sub(r"//.*", "", ALLOY))
    assert code.count("{") == code.count("}")
    blocks = alloy_blocks()
    references = set(
        re.findall(r"\b((?:discovery|loki|local)\.[a-z_]+\.\w+)\.(?:targets|rules|receiver|output)", code)
    )
    assert references, "no component is wired to another"
    assert references <= blocks, f"undefined components: {references - blocks}"


def test_every_source_ends_in_loki() -> None:
    blocks = alloy_blocks()
    assert {
        "loki.source.docker.containers",
        "loki.source.file.airflow_task_logs",
        "loki.write.default",
    } <= blocks
    assert 'url = "http://loki:3100/loki/api/v1/push"' in ALLOY
    assert LOKI["server"]["http_listen_port"] == 3100


def test_container_logs_are_labelled_with_service_and_container() -> None:
    labels = apply_relabel(
        relabel_rules("containers"),
        {
            "__meta_docker_container_name": "/de-sandbox-airflow-scheduler-1",
            "__meta_docker_container_label_com_docker_compose_service": "airflow-scheduler",
            "__meta_docker_container_label_com_docker_compose_project": "de-sandbox",
            "__meta_docker_container_log_stream": "stdout",
        },
    )
    assert labels["service"] == "airflow-scheduler"
    assert labels["container"] == "de-sandbox-airflow-scheduler-1"


def airflow_log_path(map_index: int) -> str:
    """A task log path rendered from the installed Airflow's default log_filename_template."""
    config = yaml.safe_load((AIRFLOW_DIR / "config_templates" / "config.yml").read_text())
    # config.yml escapes % for configparser
    template = config["logging"]["options"]["log_filename_template"]["default"].replace("%%", "%")
    ti = SimpleNamespace(
        dag_id="example_pipeline",
        run_id="manual__2026-11-22T13:31:24+00:00",
        task_id="dbt_models.fct_orders_run",
        map_index=map_index,
        try_number=2,
    )
    return "/opt/airflow/logs/" + jinja2.Template(template).render(ti=ti, try_number=2)


@pytest.mark.parametrize("map_index", [-1, 3])
def test_task_logs_get_dag_id_and_task_id_from_the_airflow_log_path(map_index: int) -> None:
    path = airflow_log_path(map_index)
    assert ("map_index=3/" in path) == (map_index == 3)
    labels = apply_relabel(relabel_rules("airflow_task_logs"), {"__path__": path})
    assert labels["dag_id"] == "example_pipeline"
    assert labels["task_id"] == "dbt_models.fct_orders_run"
    assert labels["attempt"] == "2"
    glob = re.search(r'__path__ = "([^"]+)"', ALLOY)[1]
    assert re.fullmatch(glob.replace("**/", "(?:.*/)?").replace("*", "[^/]*"), path)


def test_loki_is_a_single_binary_on_the_filesystem() -> None:
    assert LOKI["auth_enabled"] is False
    assert LOKI["common"]["storage"]["filesystem"]["chunks_directory"].startswith("/loki")
    assert LOKI["common"]["ring"]["kvstore"]["store"] == "inmemory"
    (schema,) = LOKI["schema_config"]["configs"]
    assert (schema["store"], schema["object_store"], schema["schema"]) == ("tsdb", "filesystem", "v13")
