"""Cosmos configuration for every DAG that runs dbt: one place decides project, profile, load and execution modes.

Chosen by measurement (README "Why these Cosmos modes"): the DAG renders from the manifest of `dbt parse`; the
platforms run one `dbt build` watched by per-node tasks (WATCHER), dag.test() runs each node in-process (LOCAL;
WATCHER on request).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import airflow  # noqa: F401  (Cosmos internals expect Airflow to be imported first)
from airflow.sdk import TaskGroup, TriggerRule
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import (
    PRODUCER_WATCHER_DONE_TASK_ID,
    ExecutionMode,
    InvocationMode,
    LoadMode,
    TestBehavior,
    TestIndirectSelection,
)
from cosmos.fs import safe_copy
from cosmos.operators._watcher import base as watcher_base
from cosmos.operators._watcher.base import BaseConsumerSensor
from cosmos.operators._watcher.state import is_producer_task_terminated

from de_sandbox.airflow_db import DUCKDB_POOL
from de_sandbox.dbt.project import (
    DbtProjectError,
    NodeRelation,
    dbt_env,
    dbt_executable,
    dbt_project_name,
    manifest_path,
    node_relations,
    project_paths,
)
from de_sandbox.lineage.datasets import Dataset, warehouse_relation
from de_sandbox.orchestration.lineage import declare_lineage
from de_sandbox.settings import Settings, get_cosmos_settings, get_settings
from de_sandbox.warehouse import duckdb_writer_lock, release_dbt_duckdb

# The profile every project runs with: our profiles.yml, passed to dbt with --profile, so a bring-your-own
# project keeps its own `profile:` line untouched.
PROFILE_NAME = "de_sandbox"

EXECUTION_MODES = {mode.value: mode for mode in (ExecutionMode.LOCAL, ExecutionMode.WATCHER)}
INVOCATION_MODES = {mode.value: mode for mode in InvocationMode}
TEST_BEHAVIORS = {behavior.value: behavior for behavior in TestBehavior}
# Pool of the WATCHER tasks that only read the producer's XCom: they write nothing, so they skip the DuckDB pool.
READER_POOL = "default_pool"
# Seconds between two XCom reads of a deferred consumer in the triggerer (Cosmos: 10): a node's status shows up
# this much sooner, for one small query per waiting node.
WATCHER_POKE_SECONDS = 1


# dbt events WATCHER's producer pushes to XCom per node. Cosmos pushes four lifecycle events per node (start,
# compiling, executing, finished), one HTTP call each, one at a time under a lock, from inside dbt's threads; its
# consumers read the event only once the node is done, to log it. Only the finished event and the errors are kept:
# scale project, 115 nodes, hundreds of calls fewer (README "Why these Cosmos modes").
NODE_EVENTS_PUSHED = frozenset({"NodeFinished"})
watcher_base._DBT_EVENT_ALLOWLIST = watcher_base._DBT_ERROR_EVENTS_TYPES | NODE_EVENTS_PUSHED


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


def execution_mode() -> str:
    """COSMOS_EXECUTION_MODE on the platforms; COSMOS_EMBEDDED_EXECUTION_MODE under dag.test() (the embedded
    runtime), where WATCHER's consumers are put behind the producer (`_consumers_after_the_producer`)."""
    cosmos = get_cosmos_settings()
    return (cosmos.embedded_execution_mode or "local") if cosmos.embedded else cosmos.execution_mode


def execution_config() -> ExecutionConfig:
    mode, cosmos = execution_mode(), get_cosmos_settings()
    invocation = cosmos.invocation_mode
    if mode not in EXECUTION_MODES or invocation not in INVOCATION_MODES:
        variable = "COSMOS_EMBEDDED_EXECUTION_MODE" if cosmos.embedded else "COSMOS_EXECUTION_MODE"
        raise ValueError(
            f"{variable}={mode!r} / COSMOS_INVOCATION_MODE={invocation!r}: "
            f"choose from {sorted(EXECUTION_MODES)} / {sorted(INVOCATION_MODES)}"
        )
    return ExecutionConfig(
        execution_mode=EXECUTION_MODES[mode],
        invocation_mode=INVOCATION_MODES[invocation] if mode == "local" else None,
        # A model's test task runs only tests whose every parent is built; the rest get their own task.
        test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        dbt_executable_path=dbt_executable(),
    )


def test_behavior() -> str:
    """COSMOS_TEST_BEHAVIOR, else `build` (a model and its tests in one dbt call) under dag.test() and `after_each`
    on the platforms (a model's tests as their own task, so their status and log stand apart in the UI)."""
    cosmos = get_cosmos_settings()
    local_in_process = cosmos.embedded and execution_mode() == ExecutionMode.LOCAL.value
    return cosmos.test_behavior or ("build" if local_in_process else "after_each")


def render_config(select: list[str] | None = None) -> RenderConfig:
    behavior = test_behavior()
    if behavior not in TEST_BEHAVIORS:
        raise ValueError(f"COSMOS_TEST_BEHAVIOR={behavior!r}: choose from {sorted(TEST_BEHAVIORS)}")
    return RenderConfig(
        load_method=LoadMode.DBT_MANIFEST,
        select=select or [],
        test_behavior=TEST_BEHAVIORS[behavior],
        enable_mock_profile=False,
        # LOCAL: tests reading several models (relationships, singular tests) get their own task, run once all of
        # them exist. WATCHER: the producer's `dbt build` orders them itself and reports them with each parent's
        # tests; a task of their own would find no status from it and run its own `dbt test` every time.
        should_detach_multiple_parents_tests=execution_mode() != ExecutionMode.WATCHER.value,
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


def dbt_task_group(
    group_id: str,
    select: list[str],
    settings: Settings | None = None,
    extra_operator_args: dict | None = None,
) -> TaskGroup:
    """The dbt nodes of `select` as Cosmos tasks (one per model, seed and test) in the configured execution mode."""
    settings = settings or get_settings()
    # WATCHER: Cosmos's own per-model asset path stays off (fit_watcher_tasks declares them), so no event twice.
    watcher_args = {"emit_datasets": False} if execution_mode() == ExecutionMode.WATCHER.value else {}
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=project_config(settings),
        profile_config=profile_config(settings),
        execution_config=execution_config(),
        render_config=render_config(select=select),
        operator_args={**operator_args(), **watcher_args, **(extra_operator_args or {})},
    )
    fit_watcher_tasks(group, settings)
    _warm_partial_parse(group, settings)
    if get_cosmos_settings().embedded and execution_mode() == ExecutionMode.WATCHER.value:
        _consumers_after_the_producer(group)
    return group


def _warm_partial_parse(group: TaskGroup, settings: Settings) -> None:
    """Give the group's Cosmos cache the partial-parse file of our own `dbt parse` when the cache has none newer.

    Each Cosmos dbt task copies the project and parses it, partially when the newest partial-parse file (the
    project's `target/` or the group's cache, which Cosmos refreshes after each task) matches its profile; the
    first run of a fresh platform had only the project's, if any (`make lint` leaves one built for a throwaway
    DuckDB file), and parsed in full: "Unable to do partial parsing because profile has changed", 4.5 s of the
    example producer's 13 s. `de-sandbox dbt-parse` parses with the same profile, target and env as the tasks."""
    ours = manifest_path(settings).parent / "partial_parse.msgpack"
    if not ours.exists():
        return
    for cache_dir in {Path(t.cache_dir) for t in _leaf_tasks(group) if getattr(t, "cache_dir", None)}:
        cached = cache_dir / "target" / "partial_parse.msgpack"
        if cached.exists() and cached.stat().st_mtime >= ours.stat().st_mtime:
            continue
        cached.parent.mkdir(parents=True, exist_ok=True)
        for name in ("partial_parse.msgpack", "manifest.json"):
            safe_copy(ours.parent / name, cached.parent / name)


def _consumers_after_the_producer(group: TaskGroup) -> None:
    """WATCHER under dag.test(): its consumers would defer to a triggerer that never fires, since dag.test() runs
    one task at a time and a consumer may come before the producer. So the first consumers wait for the producer's
    gate task, which now passes whatever the producer's state (`all_done`): when they start, every node's status is
    in the producer's XCom and a consumer's first read settles it (it defers only when nothing is there). A failed
    model still fails its own task, and its downstream tasks end `upstream_failed`."""
    tasks = _leaf_tasks(group)
    gate = next(t for t in tasks if t.task_id.endswith(PRODUCER_WATCHER_DONE_TASK_ID))
    gate.trigger_rule = TriggerRule.ALL_DONE
    consumers = [t for t in tasks if isinstance(t, BaseConsumerSensor)]
    in_group = {t.task_id for t in consumers}
    for consumer in consumers:
        if not consumer.upstream_task_ids & in_group:
            gate >> consumer


def _leaf_tasks(group: TaskGroup) -> list[Any]:
    return [
        leaf
        for task in group.children.values()
        for leaf in (_leaf_tasks(task) if isinstance(task, TaskGroup) else [task])
    ]


def fit_watcher_tasks(group: TaskGroup, settings: Settings | None = None) -> TaskGroup:
    """Under WATCHER only the producer's `dbt build` writes: the consumers (which read its XCom, then defer) leave the
    DuckDB pool, else they would queue behind the producer that holds its one slot for the whole build.

    Each model, seed and snapshot consumer also declares its table as its outlet and OpenLineage output (its
    parents' as inputs), as a LOCAL task reports them: Cosmos's own path, URIs the producer pushes per node, gives
    none on Postgres (its namespace lookup cannot render our profile's `as_number`) and no OpenLineage datasets."""
    settings = settings or get_settings()
    tasks = _leaf_tasks(group)
    consumers = [t for t in tasks if isinstance(t, BaseConsumerSensor)]
    # Read once per group: the manifest's path needs dbt_project.yml's name, and per consumer that was 80 YAML
    # loads in every parse of the scale DAG (each task process and the DAG processor parse it).
    relations = node_relations(settings) if consumers else {}
    for gate in (t for t in tasks if t.task_id.endswith(PRODUCER_WATCHER_DONE_TASK_ID)):
        gate.pool = READER_POOL
    for consumer in consumers:
        consumer.pool = READER_POOL
        consumer.poke_interval = WATCHER_POKE_SECONDS
        _declare_node_lineage(consumer, settings, relations)
        _retry_once_the_producer_ended(consumer)
        if settings.warehouse == "duckdb":
            _fallback_one_writer_at_a_time(consumer, settings)
    return group


def _retry_once_the_producer_ended(consumer: BaseConsumerSensor) -> None:
    """A consumer's retry (automatic or a clear) waits for the producer's end, then runs its node with dbt.

    Cosmos's retry rereads the producer's XCom while the producer still runs, so its outcome hung on timing: a
    model's tests whose `relationships` test dbt skipped (its other parent failed) fail from the producer's
    status, and their retry ran `dbt test` (CAUTIOUS: only tests whose every parent is built) when the producer had
    ended, else failed the same way, leaving everything downstream `upstream_failed`. Now the retry always runs."""

    def handle_retry(try_number: int, producer_state: str | None, context: Any) -> bool:
        while not is_producer_task_terminated(producer_state):
            time.sleep(consumer.poke_interval)
            producer_state = consumer._get_producer_task_status(context)
        return consumer._fallback_to_non_watcher_run(try_number, context)

    consumer._handle_retry = handle_retry


def _fallback_one_writer_at_a_time(consumer: BaseConsumerSensor, settings: Settings) -> None:
    """A consumer whose producer died runs its own node with dbt (Cosmos's fallback), outside the DuckDB pool: with
    several such consumers at once, each dbt would fail to open the file ('Could not set lock'). On DuckDB they
    take the file's writer lock in turn and free the file afterwards."""

    def one_at_a_time(try_number: int, context: Any) -> Any:
        with duckdb_writer_lock(settings):
            try:
                return type(consumer)._fallback_to_non_watcher_run(consumer, try_number, context)
            finally:
                release_dbt_duckdb()

    consumer._fallback_to_non_watcher_run = one_at_a_time


def _declare_node_lineage(
    consumer: BaseConsumerSensor, settings: Settings, relations: dict[str, NodeRelation]
) -> None:
    node = relations.get(consumer.model_unique_id)
    if consumer.is_test_sensor or node is None or node.resource_type == "source":
        return

    def dataset(relation: NodeRelation) -> Dataset:
        return warehouse_relation(settings, relation.database, relation.schema, relation.identifier)

    reads = [dataset(relations[parent]) for parent in node.parents if parent in relations]
    declare_lineage(consumer, reads=reads, writes=[dataset(node)])
    consumer.emit_datasets = False


def select_for(settings: Settings, tag: str) -> list[str]:
    """Our own project is split by pipeline tag; a bring-your-own project runs whole."""
    own_project = settings.dbt_project_dir.resolve() == (settings.repo_root / "dbt").resolve()
    return [f"tag:{tag}"] if own_project else []


def docs_task(task_id: str = "dbt_docs"):
    """An Airflow task that rebuilds the dbt docs site; returns its path (shown in run summaries)."""
    from airflow.providers.standard.operators.python import PythonOperator

    from de_sandbox.dbt.project import generate_docs

    return PythonOperator(task_id=task_id, python_callable=generate_docs)
