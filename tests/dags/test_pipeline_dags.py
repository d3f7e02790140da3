"""The pipeline DAG factory: a config's schedule, owner, retries, doc and phases become its DAG; a broken config
breaks only its own DAG file, whose import error lists every problem of the config."""

from __future__ import annotations

import shutil

import pytest
import yaml

from de_sandbox.settings import REPO_ROOT

THIN_DAG = (REPO_ROOT / "dags" / "stavanger_parking.py").read_text()


@pytest.fixture
def dag_folder(embedded_airflow, tmp_path, monkeypatch):
    """A dags/ and a pipelines/ folder of the test's own: the parking config under two names, one of them broken."""
    dags, configs = tmp_path / "dags", tmp_path / "pipelines"
    dags.mkdir()
    configs.mkdir()
    parking = yaml.safe_load((REPO_ROOT / "pipelines" / "stavanger_parking.yml").read_text())
    trimmed = {
        **parking,
        "raw": {**parking["raw"], "table": "raw.parking_light"},
        "phases": ["extract", "load", "archive"],
        "retries": {"count": 4, "delay_seconds": 5},
        "schedule": {"cron": "*/30 * * * *", "start_date": "2026-02-01T06:00", "catchup": True},
        "owner": "team-parking",
    }
    (configs / "parking_light.yml").write_text(yaml.safe_dump(trimmed))
    broken = {
        **parking,
        "owner": "",
        "phases": ["load"],
        "raw": {**parking["raw"], "table": "raw.broken_pipe"},
    }
    (configs / "broken_pipe.yml").write_text(yaml.safe_dump(broken))
    for name in ("parking_light", "broken_pipe"):
        (dags / f"{name}.py").write_text(THIN_DAG)
    shutil.copy(REPO_ROOT / "dags" / "wikipedia_pageviews.py", dags)
    monkeypatch.setenv("PIPELINES_DIR", str(configs))
    shutil.copy(REPO_ROOT / "pipelines" / "wikipedia_pageviews.yml", configs)
    return dags


def test_a_config_becomes_its_dag_and_a_broken_one_fails_alone(dag_folder):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(dag_folder))
    assert sorted(bag.dags) == ["parking_light", "wikipedia_pageviews"]
    (failed_file, error), *others = bag.import_errors.items()
    assert not others and failed_file.endswith("broken_pipe.py")
    assert "broken_pipe.yml: 2 error(s)" in error
    assert 'owner: ""; expected a non-empty owner' in error
    assert 'phases: ["load"]; expected a list that includes extract' in error

    dag = bag.dags["parking_light"]
    assert [t.task_id for t in dag.topological_sort()] == ["extract", "load", "archive"]
    assert dag.timetable.summary == "*/30 * * * *"
    assert dag.start_date.isoformat() == "2026-02-01T06:00:00+00:00" and dag.catchup
    assert dag.doc_md.startswith("### stavanger_parking")
    assert {(t.owner, t.retries, t.retry_delay.total_seconds()) for t in dag.tasks} == {
        ("team-parking", 4, 5.0)
    }
