"""Cosmos configuration for every DAG that runs dbt: one place decides project, profile, load and execution modes.

The modes were chosen by measurement (`make bench`, README "Why these Cosmos modes"): the DAG renders from the
manifest written by `dbt parse` at setup, and runs each node in-process through dbtRunner.
"""

from __future__ import annotations

import airflow  # noqa: F401  (Cosmos internals expect Airflow to be imported first)
from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior, TestIndirectSelection

from de_sandbox.airflow_db import DUCKDB_POOL
from de_sandbox.dbt.project import (
    DbtProjectError,
    dbt_env,
    dbt_executable,
    dbt_project_name,
    manifest_path,
    project_paths,
)
from de_sandbox.settings import Settings, get_cosmos_settings, get_settings

# The profile every project runs with: our profiles.yml, passed to dbt with --profile, so a bring-your-own
# project keeps its own `profile:` line untouched.
PROFILE_NAME = "de_sandbox"

EXECUTION_MODES = {mode.value: mode for mode in (ExecutionMode.LOCAL, ExecutionMode.WATCHER)}
INVOCATION_MODES = {mode.value: mode for mode in InvocationMode}
TEST_BEHAVIORS = {behavior.value: behavior for behavior in TestBehavior}


def project_config(settings: Settings | None = None) -> ProjectConfig:
    settings = settings or get_settings()
    manifest = manifest_path(settings)
    if not manifest.exists():
        raise DbtProjectError(
            f"dbt manifest not found at {manifest}: create it with `de-sandbox dbt-parse` (make run/demo do)"
        )
    paths = project_paths(settings.dbt_project_dir)
    return ProjectConfig(
        dbt_project_path=settings.dbt_project_dir,
        models_relative_path=paths["model-paths"],
        seeds_relative_path=paths["seed-paths"],
        snapshots_relative_path=paths["snapshot-paths"],
        manifest_path=manifest_path(settings),
        project_name=dbt_project_name(settings.dbt_project_dir),
        env_vars=dbt_env(settings, include_secrets=False),
        partial_parse=True,
    )


def profile_config(settings: Settings | None = None) -> ProfileConfig:
    settings = settings or get_settings()
    return ProfileConfig(
        profile_name=PROFILE_NAME,
        target_name=settings.dbt_target,
        profiles_yml_filepath=settings.dbt_profiles_dir / "profiles.yml",
    )


def execution_config() -> ExecutionConfig:
    cosmos = get_cosmos_settings()
    mode, invocation = cosmos.execution_mode, cosmos.invocation_mode
    if mode not in EXECUTION_MODES or invocation not in INVOCATION_MODES:
        raise ValueError(
            f"COSMOS_EXECUTION_MODE={mode!r} / COSMOS_INVOCATION_MODE={invocation!r}: "
            f"choose from {sorted(EXECUTION_MODES)} / {sorted(INVOCATION_MODES)}"
        )
    return ExecutionConfig(
        execution_mode=EXECUTION_MODES[mode],
        invocation_mode=INVOCATION_MODES[invocation] if mode == "local" else None,
        # A model's test task runs only tests whose every parent is built; the rest get their own task.
        test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        dbt_executable_path=dbt_executable(),
    )


def render_config(select: list[str] | None = None) -> RenderConfig:
    behavior = get_cosmos_settings().test_behavior
    if behavior not in TEST_BEHAVIORS:
        raise ValueError(f"COSMOS_TEST_BEHAVIOR={behavior!r}: choose from {sorted(TEST_BEHAVIORS)}")
    return RenderConfig(
        load_method=LoadMode.DBT_MANIFEST,
        select=select or [],
        test_behavior=TEST_BEHAVIORS[behavior],
        enable_mock_profile=False,
        # Tests reading several models (relationships, singular tests) run once all of them exist.
        should_detach_multiple_parents_tests=True,
    )


def operator_args() -> dict:
    """Arguments for every Cosmos dbt task: no `dbt deps` (offline), keep run_results, free the DuckDB file."""
    return {
        "install_deps": False,
        "callback": [
            "de_sandbox.dbt.artifacts.collect_run_results",
            "de_sandbox.metrics.facts.cosmos_callback",
            "de_sandbox.warehouse.release_dbt_duckdb",
        ],
    }


def pool_args(settings: Settings | None = None) -> dict[str, str]:
    """default_args entry that queues DuckDB-writing tasks on the one-slot pool; nothing for Postgres."""
    settings = settings or get_settings()
    return {"pool": DUCKDB_POOL} if settings.warehouse == "duckdb" else {}


def select_for(settings: Settings, tag: str) -> list[str]:
    """Our own project is split by pipeline tag; a bring-your-own project runs whole."""
    own_project = settings.dbt_project_dir.resolve() == (settings.repo_root / "dbt").resolve()
    return [f"tag:{tag}"] if own_project else []


def docs_task(task_id: str = "dbt_docs"):
    """An Airflow task that rebuilds the dbt docs site; returns its path (shown in run summaries)."""
    from airflow.providers.standard.operators.python import PythonOperator

    from de_sandbox.dbt.project import generate_docs

    return PythonOperator(task_id=task_id, python_callable=generate_docs)
