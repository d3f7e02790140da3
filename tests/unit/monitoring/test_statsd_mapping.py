"""statsd-exporter mapping against Airflow's own metric registry: ids become labels, duplicates drop."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from helpers.monitoring_queries import MONITORING_DIR, map_statsd_name

MAPPING = yaml.safe_load((MONITORING_DIR / "statsd-exporter" / "statsd_mapping.yml").read_text())
# Located without importing airflow, which is slow and configures logging.
AIRFLOW_DIR = Path(importlib.util.find_spec("airflow").submodule_search_locations[0])
REGISTRY = AIRFLOW_DIR / "_shared" / "observability" / "metrics" / "metrics_template.yaml"
# Values as Airflow would send them: dots inside ids arrive as "__" in legacy names.
SAMPLE = {
    "dag_id": "example_pipeline",
    "task_id": "dbt_models__fct_orders_run",
    "state": "success",
    "queue": "default",
    "pool_name": "default_pool",
    "executor_class_name": "LocalExecutor",
    "operator_name": "DbtRunLocalOperator",
    "task_type": "DbtRunLocalOperator",
    "hostname": "triggerer-1",
    "job_id": "42",
    "return_code": "0",
    "file_name": "example_pipeline__py",
    "bundle_name": "dags-folder",
}
# The Edge executor is not part of this platform; its per-worker metrics stay unmapped.
UNUSED_PREFIXES = ("edge_worker.", "edge_executor.")


def map_name(statsd_name: str) -> tuple[str, str, dict[str, str]] | None:
    return map_statsd_name(statsd_name, MAPPING["mappings"])


def registry() -> list[dict]:
    return yaml.safe_load(REGISTRY.read_text())["metrics"]


def legacy_metrics_with_ids() -> list[dict]:
    return [
        m
        for m in registry()
        if m["legacy_name"] != "-"
        and {"dag_id", "task_id", "pool_name", "executor_class_name"} & set(m.get("name_variables", []))
        and not m["name"].startswith(UNUSED_PREFIXES)
    ]


def test_the_registry_is_airflows_own() -> None:
    names = {m["name"] for m in registry()}
    assert {"scheduler_heartbeat", "ti.finish", "dagrun.duration.success", "pool.open_slots"} <= names


@pytest.mark.parametrize("metric", legacy_metrics_with_ids(), ids=lambda m: m["legacy_name"])
def test_legacy_name_gets_its_ids_as_labels(metric: dict) -> None:
    statsd_name = "airflow." + metric["legacy_name"].format(**SAMPLE)
    mapped = map_name(statsd_name)
    assert mapped and mapped[0] == "map", f"{statsd_name} is not mapped"
    _, name, labels = mapped
    assert name.startswith("airflow_")
    variables = set(metric["name_variables"])
    if "dag_id" in variables:
        assert labels["dag_id"] == SAMPLE["dag_id"]
    if "task_id" in variables:
        assert labels["task_id"] == SAMPLE["task_id"]
    if "state" in variables:
        assert labels["state"] == SAMPLE["state"]
    if "pool_name" in variables:
        assert labels["pool"] == SAMPLE["pool_name"]


@pytest.mark.parametrize("metric", legacy_metrics_with_ids(), ids=lambda m: m["name"])
def test_untagged_twin_of_a_labelled_metric_is_dropped(metric: dict) -> None:
    mapped = map_name("airflow." + metric["name"])
    assert mapped and mapped[0] == "drop", f"airflow.{metric['name']} would be exported without its labels"


@pytest.mark.parametrize(
    ("statsd_name", "expected"),
    [
        ("airflow.scheduler_heartbeat", ("map", "airflow_scheduler_heartbeat", {})),
        ("airflow.ti_failures", ("map", "airflow_ti_failures", {})),
        ("airflow.dag_processing.import_errors", ("map", "airflow_dag_processing_import_errors", {})),
        (
            "airflow.operator_failures_BashOperator",
            ("map", "airflow_operator_failures", {"operator": "BashOperator"}),
        ),
    ],
)
def test_plain_metrics_keep_their_names(statsd_name: str, expected: tuple) -> None:
    assert map_name(statsd_name) == expected


def test_every_mapping_is_well_formed() -> None:
    names_by_labels: dict[str, set] = {}
    for mapping in MAPPING["mappings"]:
        assert set(mapping) <= {"match", "match_type", "name", "help", "labels", "action"}
        if mapping.get("action") == "drop":
            continue
        assert re.fullmatch(r"airflow_[a-z0-9_]+", mapping["name"])
        labels = frozenset(mapping.get("labels") or {})
        # statsd-exporter rejects one name exported with two different label sets
        names_by_labels.setdefault(mapping["name"], set()).add(labels)
    assert all(len(sets) == 1 for sets in names_by_labels.values())
