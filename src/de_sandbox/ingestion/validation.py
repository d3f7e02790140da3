"""Great Expectations check of one window's target rows with the target table's registered window suite
(quality.suites), computed in the warehouse, recorded in the run ledger as phase `validate`."""

from __future__ import annotations

import logging
from datetime import datetime

from de_sandbox.dbt.project import dbt_project_name
from de_sandbox.ingestion import ledger
from de_sandbox.ingestion.spec import PipelineSpec
from de_sandbox.metrics import facts
from de_sandbox.quality.suites import TableSuite, stored_window_suite, window_suite
from de_sandbox.quality.validate import failure_entry
from de_sandbox.quality.window import validate_window
from de_sandbox.settings import get_settings

log = logging.getLogger(__name__)


class ValidationError(AssertionError):
    """The window's target rows failed one or more expectations."""


def target_suite(spec: PipelineSpec, project: str) -> TableSuite:
    """The window suite of the pipeline's target (registered, else stored as a GX suite file); its window
    column must be the one the spec audits by."""
    try:
        table_suite = window_suite(project, spec.target_table)
    except KeyError:
        gx_root = get_settings().gx_root_dir
        table_suite = stored_window_suite(gx_root, project, spec.target_table, spec.target_window_column)
    if table_suite.window_column != spec.target_window_column:
        raise ValueError(
            f"{spec.name}: window suite {table_suite.name} selects by {table_suite.window_column!r},"
            f" the pipeline by {spec.target_window_column!r}"
        )
    return table_suite


def failure_summary(result: object) -> list[str]:
    """One `expectation column (n of m rows)` item per failed expectation of a suite result."""
    failures = []
    for entry in (failure_entry(r) for r in result.results if not r.success):
        column = f" {entry['column']}" if entry.get("column") else ""
        rows = (
            f" ({entry['unexpected_count']} of {entry['element_count']} rows)"
            if entry["unexpected_count"]
            else f" (observed {entry['observed_value']})"
        )
        failures.append(f"{entry['expectation']}{column}{rows}")
    return failures


def validate(spec: PipelineSpec, start: datetime, end: datetime, run_id: str | None = None) -> int:
    """Validate the window's target rows; raises ValidationError naming the failed expectations."""
    settings = get_settings()
    table_suite = target_suite(spec, dbt_project_name(settings.dbt_project_dir))
    with ledger.phase(spec.name, start, end, "validate", run_id) as record:
        result = validate_window(settings, table_suite, ledger.naive_utc(start), run_id)
        rows = next(
            (
                r.result["observed_value"]
                for r in result.results
                if r.expectation_config.type == "expect_table_row_count_to_be_between"
            ),
            None,
        )
        record.rows_target = rows
        facts.record_gx_results(result, dag_id=spec.name, run_id=run_id or "", suite=table_suite.name)
        if not result.success:
            label = f"{spec.target_table} window {start:%Y-%m-%d %H:%M}"
            raise ValidationError(f"GX validation of {label} failed: {', '.join(failure_summary(result))}")
        log.info("GX validated %s rows of %s", rows, spec.target_table)
        return rows
