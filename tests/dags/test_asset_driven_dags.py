"""Asset-driven DAGs wait for assets the ingestion DAGs really produce; ingestion tasks declare their datasets."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
INGESTION_DAGS = ("wikipedia_pageviews", "stavanger_parking")


@pytest.fixture(scope="module")
def dags(embedded_airflow):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert not bag.import_errors, bag.import_errors
    return bag.dags


def _asset_uris(condition) -> set[str]:
    from airflow.sdk import Asset

    return (
        {asset.uri for _, asset in condition.iter_assets()}
        if not isinstance(condition, Asset)
        else {condition.uri}
    )


def test_asset_driven_dags_are_scheduled_on_assets_only(dags):
    asset_driven = {dag_id: dag for dag_id, dag in dags.items() if "asset-driven" in dag.tags}
    assert "wikipedia_pageviews_daily" in asset_driven
    for dag in asset_driven.values():
        assert type(dag.timetable).__name__ == "AssetTriggeredTimetable", dag.dag_id
        assert _asset_uris(dag.timetable.asset_condition)


def test_daily_rollup_waits_for_the_hourly_fact_that_cosmos_emits(dags, embedded_airflow):
    """The schedule's URI is the one Cosmos derives from the dbt profile for marts.fct_wikipedia_pageviews."""
    from airflow.sdk import Asset
    from cosmos.dataset import construct_dataset_uri, get_dataset_namespace

    from de_sandbox.lineage.datasets import warehouse_database
    from de_sandbox.orchestration.cosmos import profile_config

    settings = embedded_airflow
    namespace = get_dataset_namespace(profile_config(settings))
    name = f"{warehouse_database(settings)}.marts.fct_wikipedia_pageviews"
    expected = Asset(construct_dataset_uri(namespace, name, warn_uri_migration=False)).uri
    daily = dags["wikipedia_pageviews_daily"]
    assert _asset_uris(daily.timetable.asset_condition) == {expected}
    hourly = dags["wikipedia_pageviews"]
    assert "dbt.fct_wikipedia_pageviews.run" in hourly.task_ids


def test_rollup_model_runs_only_in_the_asset_driven_dag(dags):
    daily_tasks = dags["wikipedia_pageviews_daily"].task_ids
    assert "dbt.fct_wikipedia_pageviews_daily.run" in daily_tasks
    assert not any(task_id.startswith("dbt.fct_wikipedia_pageviews.") for task_id in daily_tasks)
    assert not any("pageviews_daily" in task_id for task_id in dags["wikipedia_pageviews"].task_ids)


@pytest.mark.parametrize("dag_id", INGESTION_DAGS)
def test_ingestion_phases_declare_source_landing_and_raw_table(dags, dag_id, embedded_airflow):
    from de_sandbox.ingestion.config import load_config
    from de_sandbox.lineage.datasets import warehouse_table
    from de_sandbox.orchestration.lineage import asset

    dag = dags[dag_id]
    extract, load = dag.get_task("extract"), dag.get_task("load")
    landing = {asset.uri for asset in extract.outlets}
    assert len(landing) == 1 and next(iter(landing)).endswith(f"/{dag_id}")
    assert {asset.uri for asset in load.inlets} == landing
    raw_table = warehouse_table(embedded_airflow, load_config(dag_id).raw_table)
    assert [asset.uri for asset in load.outlets] == [asset(raw_table).uri]
    assert [asset.uri for asset in extract.inlets][0].startswith(("file://", "http"))
