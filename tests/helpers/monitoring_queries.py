"""Every query the committed monitoring config runs (panels, alert rules) and the metric names it reads."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from de_sandbox.settings import REPO_ROOT

MONITORING_DIR = REPO_ROOT / "monitoring"
DASHBOARDS_DIR = MONITORING_DIR / "grafana" / "dashboards"
RULES_DIR = MONITORING_DIR / "prometheus" / "rules"
STATSD_MAPPING = MONITORING_DIR / "statsd-exporter" / "statsd_mapping.yml"

# Grafana's built-in interval variables, given a concrete value so Prometheus itself can check the query.
GRAFANA_INTERVALS = ("$__rate_interval", "$__interval", "$__range")
PROMQL_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
    "inf", "nan",
}  # fmt: skip


@dataclass(frozen=True)
class Query:
    """One query: where it lives (dashboard/panel or rule file/alert), its datasource uid and its text."""

    source: str
    title: str
    datasource_uid: str
    expr: str

    def for_prometheus(self) -> str:
        expr = self.expr
        for variable in GRAFANA_INTERVALS:
            expr = expr.replace(variable, "5m")
        return expr


def _panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def dashboard_queries(path: Path) -> Iterator[Query]:
    dashboard = json.loads(path.read_text())
    for panel in _panels(dashboard.get("panels", [])):
        panel_uid = (panel.get("datasource") or {}).get("uid", "")
        for target in panel.get("targets", []):
            uid = (target.get("datasource") or {}).get("uid") or panel_uid
            text = target.get("expr") or target.get("rawSql") or ""
            yield Query(f"{path.name}#{panel['id']}", panel["title"], uid, text)


def rule_queries(path: Path) -> Iterator[Query]:
    for group in yaml.safe_load(path.read_text())["groups"]:
        for rule in group["rules"]:
            yield Query(path.name, rule.get("alert") or rule.get("record"), "prometheus", rule["expr"])


def all_queries() -> list[Query]:
    dashboards = sorted(DASHBOARDS_DIR.glob("*.json"))
    rules = sorted(RULES_DIR.glob("*.yml"))
    return [q for path in dashboards for q in dashboard_queries(path)] + [
        q for path in rules for q in rule_queries(path)
    ]


def promql_queries() -> list[Query]:
    return [q for q in all_queries() if q.datasource_uid == "prometheus"]


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects: identifiers that are not functions, keywords or labels."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    text = re.sub(r"'(?:\\.|[^'\\])*'", "''", text)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"(?<![\w.:$])([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?", text):
        name, call = match.groups()
        if not call and name.lower() not in PROMQL_KEYWORDS:
            names.add(name)
    return names


def _glob_to_regex(pattern: str) -> str:
    return "".join(r"([^.]+)" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern))


def map_statsd_name(
    statsd_name: str, mappings: list[dict] | None = None
) -> tuple[str, str, dict[str, str]] | None:
    """(action, metric name, labels) of the first mapping that matches, as statsd-exporter applies them."""
    if mappings is None:
        mappings = yaml.safe_load(STATSD_MAPPING.read_text())["mappings"]
    for mapping in mappings:
        regex = mapping["match"] if mapping.get("match_type") == "regex" else _glob_to_regex(mapping["match"])
        match = re.fullmatch(regex, statsd_name)
        if match:
            labels = {
                key: match.expand(re.sub(r"\$(\d+)", r"\\\1", value))
                for key, value in (mapping.get("labels") or {}).items()
            }
            return mapping.get("action", "map"), mapping["name"], labels
    return None
