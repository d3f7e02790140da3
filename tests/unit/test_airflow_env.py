"""The Airflow env of every runtime: Cosmos assets in Airflow 3 URI form, OpenLineage events under DATA_DIR."""

from __future__ import annotations

import dataclasses
import json

from de_sandbox.airflow_env import airflow_env, ensure_lineage_dir
from de_sandbox.settings import get_settings


def test_lineage_events_go_to_a_file_transport_under_the_data_dir(tmp_path):
    settings = dataclasses.replace(get_settings(), data_dir=tmp_path / "data")
    env = airflow_env(settings, tmp_path / "home", "sqlite:///x.db")
    assert env["AIRFLOW__COSMOS__USE_DATASET_AIRFLOW3_URI_STANDARD"] == "True"
    transport = json.loads(env["AIRFLOW__OPENLINEAGE__TRANSPORT"])
    assert transport == {
        "type": "file",
        "log_file_path": str(tmp_path / "data/lineage/events"),
        "append": False,
    }
    assert not settings.lineage_dir.exists()
    ensure_lineage_dir(env)
    assert settings.lineage_dir.is_dir()
