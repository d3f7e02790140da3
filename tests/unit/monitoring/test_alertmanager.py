"""Alertmanager config: every route ends at a defined receiver, and inhibitions name alerts that exist."""

from __future__ import annotations

import yaml
from helpers.monitoring_queries import MONITORING_DIR, RULES_DIR

CONFIG = yaml.safe_load((MONITORING_DIR / "alertmanager" / "alertmanager.yml").read_text())


def alert_names() -> set[str]:
    return {
        rule["alert"]
        for path in RULES_DIR.glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }


def _routes(route: dict):
    yield route
    for child in route.get("routes", []):
        yield from _routes(child)


def test_routes_end_at_defined_receivers() -> None:
    receivers = {r["name"] for r in CONFIG["receivers"]}
    assert {route["receiver"] for route in _routes(CONFIG["route"]) if "receiver" in route} <= receivers


def test_inhibitions_name_existing_alerts() -> None:
    named = set()
    for rule in CONFIG["inhibit_rules"]:
        for matcher in rule["source_matchers"] + rule["target_matchers"]:
            key, _, value = matcher.partition("=")
            if key == "alertname":
                named.add(value.strip('"'))
    assert named and named <= alert_names()
