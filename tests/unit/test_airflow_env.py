"""One Airflow configuration for every runtime: airflow.env holds what compose and the native platform share, and
neither runtime redefines or contradicts it."""

from __future__ import annotations

import json

import pytest

from de_sandbox import airflow_env
from de_sandbox.compose import checks as compose_check
from de_sandbox.native.platform import Platform
from de_sandbox.settings import REPO_ROOT, get_settings

pytestmark = pytest.mark.timeout(120)

# Drift found when the two copies were merged: compose lacked these.
ONCE_MISSING_FROM_COMPOSE = (
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY",
    "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT",
    "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES",
)


@pytest.fixture
def native(monkeypatch) -> dict[str, str]:
    for name in ("AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET"):
        monkeypatch.setenv(name, "x")
    return Platform.from_settings(get_settings()).env()


@pytest.fixture(scope="module")
def compose_envs() -> dict[str, dict[str, str]]:
    """The environment Compose itself gives each Airflow container (every profile)."""
    model = compose_check.rendered_config(compose_check.COMPOSE_FILE, compose_check.ENV_EXAMPLE, ("celery",))
    return {name: s["environment"] for name, s in model["services"].items() if "build" in s}


def test_compose_and_native_airflow_agree_on_every_shared_key(native, compose_envs):
    shared = airflow_env.shared_settings()
    assert set(ONCE_MISSING_FROM_COMPOSE) <= set(shared)
    assert {"airflow-scheduler", "airflow-worker", "airflow-apiserver", "airflow-init"} <= set(compose_envs)
    for name, env in compose_envs.items():
        assert {key: env.get(key) for key in shared} == shared, name
    assert {key: native.get(key) for key in shared} == shared
    embedded = airflow_env.embedded_env(get_settings())
    assert {key: embedded.get(key) for key in shared} == shared


def test_a_setting_both_runtimes_give_the_same_value_lives_in_the_shared_file(native):
    """A literal copied into both compose and Platform.env() instead of airflow.env fails here. Compose renders
    with .env inputs unlike the native ones, so values derived from the same setting (port, login) differ."""
    inputs = {
        "AIRFLOW_PORT": "18081",
        "AIRFLOW_ADMIN_USER": "compose-admin",
        "AIRFLOW_EXECUTOR": "CeleryExecutor",
    }
    model = compose_check.rendered_config(
        compose_check.COMPOSE_FILE, compose_check.ENV_EXAMPLE, ("celery",), inputs
    )
    shared = airflow_env.shared_settings()
    for name, service in model["services"].items():
        duplicated = {
            key
            for key, value in (service.get("environment") or {}).items()
            if key.startswith("AIRFLOW__") and native.get(key) == value and key not in shared
        }
        assert duplicated == set(), name


def test_compose_redefining_or_contradicting_a_shared_key_is_caught(tmp_path):
    raw = compose_check.load_yaml(compose_check.COMPOSE_FILE)
    path = tmp_path / "docker-compose.yml"

    def problems(compose: dict) -> set[str]:
        path.write_text(json.dumps(compose))
        model = compose_check.rendered_config(
            path, compose_check.ENV_EXAMPLE, ("celery",), project_dir=REPO_ROOT
        )
        return {p.message for p in compose_check.check_airflow_components(model, compose)}

    assert problems(raw) == set()
    same = json.loads(json.dumps(raw))
    shared_parallelism = airflow_env.shared_settings()["AIRFLOW__CORE__PARALLELISM"]
    same["services"]["airflow-scheduler"]["environment"]["AIRFLOW__CORE__PARALLELISM"] = shared_parallelism
    assert problems(same) == {"AIRFLOW__CORE__PARALLELISM redefined: set once in airflow.env"}
    other = json.loads(json.dumps(raw))
    other["services"]["airflow-worker"]["environment"]["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] = "True"
    assert problems(other) == {
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY redefined: set once in airflow.env",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY differ from airflow.env",
    }
    unread = json.loads(json.dumps(raw))
    for name, service in unread["services"].items():
        if name == "flower":
            del service["env_file"]
    assert problems(unread) == {f"{', '.join(sorted(airflow_env.shared_settings()))} differ from airflow.env"}


def test_native_platform_may_not_redefine_a_shared_key(tmp_path, monkeypatch, native):
    with pytest.raises(ValueError, match="AIRFLOW__CORE__PARALLELISM: set once in"):
        airflow_env.airflow_env(get_settings(), tmp_path, "sqlite://", {"AIRFLOW__CORE__PARALLELISM": "8"})
    # A key Platform.env() sets natively, moved into the shared file without removing it there: caught too.
    moved = tmp_path / "airflow.env"
    moved.write_text(airflow_env.SHARED_SETTINGS_FILE.read_text() + "AIRFLOW__API__WORKERS=1\n")
    monkeypatch.setattr(airflow_env, "SHARED_SETTINGS_FILE", moved)
    with pytest.raises(ValueError, match="AIRFLOW__API__WORKERS"):
        Platform.from_settings(get_settings()).env()


def test_lineage_events_go_to_a_file_transport_under_the_data_dir(tmp_path):
    import dataclasses

    from de_sandbox.airflow_env import ensure_lineage_dir

    settings = dataclasses.replace(get_settings(), data_dir=tmp_path / "data")
    env = airflow_env.airflow_env(settings, tmp_path / "home", "sqlite:///x.db")
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
