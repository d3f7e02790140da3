"""One name per dataset for both Airflow assets and OpenLineage: a source location, an object-store prefix or a
warehouse table, named as OpenLineage's naming spec and Cosmos (Airflow 3 URI standard) name them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from de_sandbox.settings import Settings


@dataclass(frozen=True)
class Dataset:
    """An OpenLineage dataset (namespace, name) and the Airflow asset URI that stands for it."""

    namespace: str
    name: str
    uri: str


def warehouse_namespace(settings: Settings) -> str:
    """The namespace OpenLineage's dbt processor gives the warehouse (postgres://host:port, duckdb://path)."""
    if settings.warehouse == "duckdb":
        return f"duckdb://{settings.duckdb_path}"
    return f"postgres://{settings.postgres_host}:{settings.postgres_port}"


def warehouse_database(settings: Settings) -> str:
    """dbt's `database` of the warehouse: dbt-duckdb names it after the file, Postgres after the database."""
    return settings.duckdb_path.stem if settings.warehouse == "duckdb" else settings.warehouse_db


def warehouse_table(settings: Settings, table: str) -> Dataset:
    """`schema.table` in the warehouse; the URI is the one Cosmos emits for a dbt model or source of that table."""
    return _warehouse_dataset(settings, f"{warehouse_database(settings)}.{table}")


def warehouse_relation(settings: Settings, database: str, schema: str, identifier: str) -> Dataset:
    """A table or view as dbt's manifest names it (database, schema, alias): OpenLineage's `database.schema.table`,
    and the Airflow 3 asset URI Cosmos builds from it."""
    return _warehouse_dataset(settings, f"{database}.{schema}.{identifier}")


def _warehouse_dataset(settings: Settings, name: str) -> Dataset:
    namespace = warehouse_namespace(settings)
    return Dataset(namespace, name, f"{namespace}/{quote(name).replace('.', '/')}")


def object_prefix(bucket: str, prefix: str) -> Dataset:
    """Every object a pipeline lands under `prefix` in `bucket` (OpenLineage: namespace s3://bucket)."""
    prefix = prefix.strip("/")
    return Dataset(f"s3://{bucket}", prefix, f"s3://{bucket}/{prefix}")


def source_location(location: str) -> Dataset:
    """Where a pipeline reads its source: an http(s) URL or a local directory (OpenLineage: namespace file)."""
    if "://" in location and not location.startswith("file://"):
        parts = urlsplit(location.rstrip("/"))
        namespace = f"{parts.scheme}://{parts.netloc}"
        return Dataset(namespace, parts.path or "/", f"{namespace}{parts.path}")
    path = Path(location.removeprefix("file://")).resolve()
    return Dataset("file", str(path), path.as_uri())
