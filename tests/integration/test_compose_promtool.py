"""promtool checks the Prometheus configuration the compose stack mounts, and catches a broken one."""

from __future__ import annotations

import shutil

import pytest

from de_sandbox.compose import checks as check
from de_sandbox.native.apt import ensure_apt_packages
from de_sandbox.settings import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


@pytest.fixture(scope="module", autouse=True)
def promtool() -> None:
    ensure_apt_packages(["prometheus"])


def _model() -> dict:
    return check.rendered_config(check.COMPOSE_FILE, check.ENV_EXAMPLE)


def test_the_config_compose_mounts_is_the_committed_compose_config():
    config = check.mounted_prometheus_config(_model())
    assert config.resolve() == check.PROMETHEUS_CONFIG.resolve()
    assert config.is_relative_to(REPO_ROOT)


def test_promtool_accepts_the_mounted_config_and_its_rules():
    assert check.check_promtool(check.mounted_prometheus_config(_model())) == []


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("scrape_interval: 15s", "scrape_interval: 15 seconds", "not a valid duration"),
        ("job_name: loki", "job_name: grafana", "multiple scrape configs"),
    ],
)
def test_promtool_catches_a_broken_config(tmp_path, old, new, expected):
    copy = tmp_path / "prometheus"
    shutil.copytree(check.PROMETHEUS_CONFIG.parent, copy)
    config = copy / check.PROMETHEUS_CONFIG.name
    assert old in config.read_text()
    config.write_text(config.read_text().replace(old, new, 1))
    problems = check.check_promtool(config)
    assert len(problems) == 1 and expected in problems[0].message, problems


def test_promtool_catches_a_broken_rule_file(tmp_path):
    copy = tmp_path / "prometheus"
    shutil.copytree(check.PROMETHEUS_CONFIG.parent, copy)
    (copy / "rules" / "broken.yml").write_text(
        "groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: up ==\n"
    )
    problems = check.check_promtool(copy / check.PROMETHEUS_CONFIG.name)
    assert len(problems) == 1 and "broken.yml" in problems[0].message, problems
