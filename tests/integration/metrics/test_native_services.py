"""`make local-up`'s monitoring services: Prometheus scrapes the exporter on the platform's loopback ports."""

from __future__ import annotations

import dataclasses

import pytest
from metrics_helpers import free_port, running, wait_for

from de_sandbox.native.monitoring import monitoring_services
from de_sandbox.native.platform import Platform
from de_sandbox.settings import get_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def platform(tmp_path) -> Platform:
    return Platform(
        settings=dataclasses.replace(get_settings(), data_dir=tmp_path / "data"),
        airflow_port=free_port(),
        admin_user="admin",
        admin_password="not-used",
        fernet_key="not-used",
        jwt_secret="not-used",
        dags_folder=tmp_path / "dags",
        prometheus_port=free_port(),
        exporter_port=free_port(),
        minio_endpoint=f"127.0.0.1:{free_port()}",
    )


def test_prometheus_and_exporter_specs_run_and_scrape(platform, prometheus_bin, tmp_path) -> None:
    prometheus, exporter = monitoring_services(
        platform.settings.data_dir,
        platform.prometheus_port,
        platform.exporter_port,
        platform.api_url,
        (platform.admin_user, platform.admin_password),
    )
    assert (prometheus.name, exporter.name) == ("prometheus", "exporter")
    assert f"--web.listen-address=127.0.0.1:{platform.prometheus_port}" in prometheus.argv
    assert "--host=127.0.0.1" in exporter.argv
    assert f"--airflow-api-url={platform.api_url}" in exporter.argv
    assert not prometheus.health() and not exporter.health()
    env = {**exporter.env, "AIRFLOW_ADMIN_PASSWORD": platform.admin_password}
    with (
        running(exporter.argv, tmp_path / "exporter.log", exporter.url, env=env),
        running(prometheus.argv, tmp_path / "prometheus.log", f"{prometheus.url}/-/ready"),
    ):
        assert prometheus.health() and exporter.health()
        wait_for(prometheus.url, 'up{job="de-sandbox-exporter"} == 1')
        # no api-server listens on the platform's Airflow port here: the exporter says so instead of failing
        wait_for(prometheus.url, "de_sandbox_airflow_api_up == 0")
    assert (platform.settings.data_dir / "prometheus" / "data").is_dir()
