"""Great Expectations check of one window's target rows, run on a pandas batch (GX's SQL path sees nothing in
DuckDB) and recorded in the run ledger as phase `validate`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from de_sandbox.ingestion import ledger
from de_sandbox.ingestion.spec import PipelineSpec
from de_sandbox.metrics import facts
from de_sandbox.quality.context import quiet_gx_logging
from de_sandbox.quality.validate import failure_entry
from de_sandbox.warehouse import connect

if TYPE_CHECKING:  # pandas costs ~2.7 s to import: every ingestion task and DAG parse would pay it
    import pandas as pd

log = logging.getLogger(__name__)


class ValidationError(AssertionError):
    """The window's target rows failed one or more expectations."""


def window_frame(spec: PipelineSpec, start: datetime) -> pd.DataFrame:
    import pandas as pd

    with connect() as connection:
        columns, rows = connection.query(
            f"select * from {spec.target_table} where {spec.target_window_column} = ?",
            (ledger.naive_utc(start),),
        )
    return pd.DataFrame.from_records(rows, columns=columns)


def _expectations(spec: PipelineSpec) -> list:
    import great_expectations as gx

    expect = gx.expectations
    if spec.name == "wikipedia_pageviews":
        return [
            expect.ExpectTableRowCountToBeBetween(min_value=1),
            expect.ExpectColumnValuesToBeUnique(column="pageview_key"),
            expect.ExpectColumnValuesToNotBeNull(column="page_key"),
            expect.ExpectColumnValuesToBeBetween(column="count_views", min_value=0),
            expect.ExpectColumnValuesToBeBetween(column="hour_of_day", min_value=0, max_value=23),
        ]
    return [
        expect.ExpectTableRowCountToBeBetween(min_value=1),
        expect.ExpectColumnValuesToBeUnique(column="snapshot_key"),
        expect.ExpectColumnValuesToNotBeNull(column="parking_house"),
        expect.ExpectColumnValuesToBeBetween(column="free_spaces", min_value=0),
    ]


def run_expectations(spec: PipelineSpec, frame: pd.DataFrame) -> tuple[bool, list[str], Any]:
    """Validate a frame with the pipeline's suite in an ephemeral GX context: (success, failures, result)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    quiet_gx_logging()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (
        context.data_sources.add_pandas(f"{spec.name}_window")
        .add_dataframe_asset(spec.target_table)
        .add_batch_definition_whole_dataframe("window")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=f"{spec.name}_window"))
    for expectation in _expectations(spec):
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{spec.name}_window", data=batch_definition, suite=suite)
    )
    result = definition.run(batch_parameters={"dataframe": frame})
    failures = []
    for entry in (failure_entry(r) for r in result.results if not r.success):
        column = f" {entry['column']}" if entry.get("column") else ""
        rows = (
            f" ({entry['unexpected_count']} of {entry['element_count']} rows)"
            if entry["unexpected_count"]
            else ""
        )
        failures.append(f"{entry['expectation']}{column}{rows}")
    return result.success, failures, result


def validate(spec: PipelineSpec, start: datetime, end: datetime, run_id: str | None = None) -> int:
    """Validate the window's target rows; raises ValidationError naming the failed expectations."""
    with ledger.phase(spec.name, start, end, "validate", run_id) as record:
        frame = window_frame(spec, start)
        record.rows_target = len(frame)
        success, failures, result = run_expectations(spec, frame)
        facts.record_gx_results(result, dag_id=spec.name, run_id=run_id or "", suite=f"{spec.name}_window")
        if not success:
            label = f"{spec.target_table} window {start:%Y-%m-%d %H:%M}"
            raise ValidationError(f"GX validation of {label} failed: {', '.join(failures)}")
        log.info("GX validated %d rows of %s", len(frame), spec.target_table)
        return len(frame)
