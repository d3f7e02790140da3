"""Dataset names: the same for Airflow assets, OpenLineage and Cosmos's per-model assets."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from de_sandbox.lineage.datasets import object_prefix, source_location, warehouse_table
from de_sandbox.settings import get_settings


@pytest.fixture
def postgres_settings():
    return dataclasses.replace(
        get_settings(), warehouse="postgres", postgres_host="127.0.0.1", postgres_port=5544, warehouse_db="wh"
    )


def test_postgres_table_is_named_as_openlineage_and_cosmos_name_it(postgres_settings):
    from cosmos.dataset import construct_dataset_uri

    table = warehouse_table(postgres_settings, "raw.wikipedia_pageviews")
    assert (table.namespace, table.name) == ("postgres://127.0.0.1:5544", "wh.raw.wikipedia_pageviews")
    assert table.uri == "postgres://127.0.0.1:5544/wh/raw/wikipedia_pageviews"
    assert table.uri == construct_dataset_uri(table.namespace, table.name, warn_uri_migration=False)


def test_duckdb_table_is_in_the_file_named_database(tmp_path):
    settings = dataclasses.replace(get_settings(), warehouse="duckdb", duckdb_path=tmp_path / "shop.duckdb")
    table = warehouse_table(settings, "marts.fct_orders")
    assert (table.namespace, table.name) == (f"duckdb://{tmp_path}/shop.duckdb", "shop.marts.fct_orders")
    assert table.uri == f"duckdb://{tmp_path}/shop.duckdb/shop/marts/fct_orders"


def test_object_prefix_and_sources():
    landing = object_prefix("raw", "/wikipedia_pageviews/")
    assert (landing.namespace, landing.name, landing.uri) == (
        "s3://raw",
        "wikipedia_pageviews",
        "s3://raw/wikipedia_pageviews",
    )
    dumps = source_location("https://dumps.wikimedia.org/other/pageviews/")
    assert (dumps.namespace, dumps.name) == ("https://dumps.wikimedia.org", "/other/pageviews")
    assert dumps.uri == "https://dumps.wikimedia.org/other/pageviews"
    local = source_location("file:///srv/seeds/../seeds/pageviews")
    assert (local.namespace, local.name, local.uri) == (
        "file",
        "/srv/seeds/pageviews",
        "file:///srv/seeds/pageviews",
    )
    assert Path(local.name).is_absolute()


def test_a_dbt_relation_is_named_as_the_same_warehouse_table(postgres_settings):
    from de_sandbox.lineage.datasets import warehouse_relation

    relation = warehouse_relation(postgres_settings, "wh", "marts", "fct_orders")
    assert relation == warehouse_table(postgres_settings, "marts.fct_orders")
