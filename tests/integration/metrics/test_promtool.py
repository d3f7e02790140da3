"""promtool: both Prometheus configs and the rules are valid, and every alert's unit tests pass."""

from __future__ import annotations

import subprocess

import pytest
from helpers.monitoring_queries import MONITORING_DIR

from de_sandbox.native.monitoring import render_prometheus_config

pytestmark = pytest.mark.integration

PROMETHEUS_DIR = MONITORING_DIR / "prometheus"
ALERTS = {
    "DagRunFailed",
    "GxValidationFailed",
    "SourceFreshnessBreached",
    "SchedulerHeartbeatMissing",
    "TargetDown",
}


def promtool(promtool_bin: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool_bin, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.native.yml"])
def test_check_config(promtool_bin, config) -> None:
    result = promtool(promtool_bin, "check", "config", str(PROMETHEUS_DIR / config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout + result.stderr


def test_check_rendered_native_config(promtool_bin, tmp_path) -> None:
    config = render_prometheus_config(tmp_path, 19091, 19109)
    result = promtool(promtool_bin, "check", "config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "127.0.0.1:19109" in config.read_text()


def test_check_rules(promtool_bin) -> None:
    rules = sorted(str(p) for p in (PROMETHEUS_DIR / "rules").glob("*.yml"))
    result = promtool(promtool_bin, "check", "rules", *rules)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_rules_rejects_a_broken_expression(promtool_bin, tmp_path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: sum(up\n")
    assert promtool(promtool_bin, "check", "rules", str(broken)).returncode != 0


def test_rule_unit_tests_pass_and_cover_every_alert(promtool_bin) -> None:
    tests = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
    result = promtool(promtool_bin, "test", "rules", *map(str, tests))
    assert result.returncode == 0, result.stdout + result.stderr
    text = "".join(t.read_text() for t in tests)
    tested = {line.split(":", 1)[1].strip() for line in text.splitlines() if "alertname:" in line}
    assert tested == ALERTS
    for alert in ALERTS:
        # each alert has a case where it must stay silent and one where it must fire
        blocks = text.split(f"alertname: {alert}")[1:]
        assert any(b.lstrip().startswith("exp_alerts: []") for b in blocks), f"{alert}: no not-firing case"
        assert any(b.lstrip().startswith("exp_alerts:\n") for b in blocks), f"{alert}: no firing case"
