"""The GX 1.x file context under GX_ROOT_DIR and the factories that wire a table suite into a checkpoint.

Each factory is idempotent (get or add, add_or_update): running them over the committed context is a no-op.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from de_sandbox.quality.suites import TableSuite, suites_for_project, window_suites_for_project
from de_sandbox.settings import Settings

if TYPE_CHECKING:
    from great_expectations import Checkpoint, ExpectationSuite
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.data_context import FileDataContext
    from great_expectations.expectations import Expectation

DATASOURCES = {"duckdb": "warehouse_duckdb", "postgres": "warehouse_postgres"}
BATCH_DEFINITION = "whole_table"
# GX substitutes it at run time from runtime_environment: no credential lands in great_expectations.yml.
POSTGRES_URL_VARIABLE = "postgres_warehouse_url"
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 5}
DATA_DOCS_SITE = "local_site"


def quiet_gx_logging() -> None:
    """Keep GX's per-metric INFO/DEBUG chatter out of task logs; warnings and errors still show."""
    for name in ("great_expectations", "posthog", "tzlocal"):
        logging.getLogger(name).setLevel(logging.WARNING)


def open_context(settings: Settings) -> FileDataContext:
    quiet_gx_logging()
    import great_expectations as gx

    context = gx.get_context(
        mode="file",
        context_root_dir=settings.gx_root_dir,
        runtime_environment={POSTGRES_URL_VARIABLE: settings.postgres_warehouse_url},
    )
    quiet_gx_logging()
    return context


def checkpoint_name(table_suite: TableSuite, warehouse: str) -> str:
    return f"{table_suite.name}.{warehouse}"


def batch_definition(context: FileDataContext, table_suite: TableSuite, warehouse: str) -> BatchDefinition:
    """DuckDB tables come as pandas dataframes (GX's SQL source reads nothing on DuckDB), Postgres via SQL."""
    name = DATASOURCES[warehouse]
    try:
        datasource = context.data_sources.get(name)
    except KeyError:
        if warehouse == "duckdb":
            datasource = context.data_sources.add_pandas(name)
        else:
            datasource = context.data_sources.add_postgres(
                name, connection_string="${" + POSTGRES_URL_VARIABLE + "}"
            )
    asset_name = f"{table_suite.schema}.{table_suite.table}"
    try:
        asset = datasource.get_asset(asset_name)
    except LookupError:
        if warehouse == "duckdb":
            asset = datasource.add_dataframe_asset(asset_name)
        else:
            asset = datasource.add_table_asset(
                asset_name, table_name=table_suite.table, schema_name=table_suite.schema
            )
    try:
        return asset.get_batch_definition(BATCH_DEFINITION)
    except KeyError:
        if warehouse == "duckdb":
            return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION)
        return asset.add_batch_definition_whole_table(BATCH_DEFINITION)


def _identity(expectation: Expectation) -> str:
    configuration = expectation.configuration.to_json_dict()
    configuration.pop("id", None)
    return json.dumps(configuration, sort_keys=True, default=str)


def saved_suite(context: FileDataContext, suite: ExpectationSuite) -> ExpectationSuite:
    """Save a factory-built suite, keeping stored ids of unchanged expectations and writing only on change.

    GX's own add_or_update compares expectations including their ids, so on its own it renews every id.
    """
    from great_expectations.exceptions import DataContextError

    try:
        existing = context.suites.get(suite.name)
    except DataContextError:
        return context.suites.add(suite)
    stored_ids = {_identity(expectation): expectation.id for expectation in existing.expectations}
    if list(stored_ids) == [_identity(expectation) for expectation in suite.expectations]:
        return existing
    for expectation in suite.expectations:
        expectation.id = stored_ids.get(_identity(expectation))
    return context.suites.add_or_update(suite)


def checkpoint(context: FileDataContext, table_suite: TableSuite, warehouse: str) -> Checkpoint:
    """One checkpoint per table: each pandas batch needs its own dataframe, and a checkpoint passes one."""
    import great_expectations as gx

    suite = saved_suite(context, table_suite.suite())
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(
            name=checkpoint_name(table_suite, warehouse),
            data=batch_definition(context, table_suite, warehouse),
            suite=suite,
        )
    )
    return context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=checkpoint_name(table_suite, warehouse),
            validation_definitions=[validation],
            result_format=RESULT_FORMAT,
        )
    )


def build_checkpoints(context: FileDataContext, project: str, warehouse: str) -> list[Checkpoint]:
    """Write (idempotently) the suites, validation definitions and checkpoints of every table of a project.

    Window suites get no checkpoint: quality.window computes their expectations in SQL on either warehouse and
    stores the results under the same suite.
    """
    checkpoints = [checkpoint(context, table_suite, warehouse) for table_suite in suites_for_project(project)]
    for table_suite in window_suites_for_project(project):
        saved_suite(context, table_suite.suite())
    return checkpoints
