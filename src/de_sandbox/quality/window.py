"""Validate one window of a table with its registered suite without pulling the window's rows into Python.

On both warehouses the suite's expectations become SQL aggregates over the rows whose window column equals the
window's start, one row back (plus a few `limit`ed samples of unexpected values), and are stored as GX
validation results of the same suite: in the file context's results store, the Data Docs and the metrics. GX's
own SQL datasource reads nothing on DuckDB and, on PostgreSQL, runs a query per metric (slow at millions of
rows per window).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from de_sandbox.quality.context import (
    DATA_DOCS_SITE,
    DATASOURCES,
    open_context,
    quiet_gx_logging,
    saved_suite,
)
from de_sandbox.quality.suites import TableSuite
from de_sandbox.settings import Settings
from de_sandbox.warehouse import connect

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.data_context import FileDataContext
    from great_expectations.expectations import Expectation

SAMPLE_SIZE = 5


class UnsupportedExpectation(ValueError):
    """A window suite uses an expectation the SQL evaluator cannot compute."""


def validate_window(
    settings: Settings, table_suite: TableSuite, start: dt.datetime, run_name: str | None = None
) -> ExpectationSuiteValidationResult:
    """Validate the rows of `table_suite`'s table whose window column equals `start` (naive UTC), store the
    result in the context, rebuild the Data Docs and return the suite result."""
    from great_expectations.core.run_identifier import RunIdentifier

    if not table_suite.window_column:
        raise ValueError(f"{table_suite.name} is not a window suite")
    context = open_context(settings)
    run_id = RunIdentifier(run_name=run_name, run_time=dt.datetime.now(dt.UTC))
    try:
        suite = saved_suite(context, table_suite.suite())
        result = _sql_result(settings, table_suite, suite.expectations, start, run_id)
        _store(context, table_suite, result, run_id, start)
    finally:
        context.build_data_docs(
            site_names=[DATA_DOCS_SITE], resource_identifiers=_pages(context, table_suite, run_id)
        )
        quiet_gx_logging()
    return result


def _pages(context: FileDataContext, table_suite: TableSuite, run_id: Any) -> list[Any]:
    """The Data Docs pages this validation changes: its suite's and its own results'. Without them GX renders a
    page for every stored result on each build, so a backfill's n-th window rendered n pages."""
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    ours = run_id.to_tuple()
    results = [key for key in context.validation_results_store.list_keys() if key.run_id.to_tuple() == ours]
    return [ExpectationSuiteIdentifier(name=table_suite.name), *results]


def _literal(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | dt.datetime):
        raise UnsupportedExpectation(f"cannot inline {value!r} into SQL")
    if isinstance(value, dt.datetime):
        return f"cast('{value:%Y-%m-%d %H:%M:%S.%f}' as timestamp)"
    return repr(value)


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _out_of_range(column: str, kwargs: dict[str, Any]) -> str:
    """The SQL predicate of a value outside expect_column_values_to_be_between's bounds (nulls excluded)."""
    bounds = []
    if kwargs.get("min_value") is not None:
        operator = "<=" if kwargs.get("strict_min") else "<"
        bounds.append(f"{column} {operator} {_literal(kwargs['min_value'])}")
    if kwargs.get("max_value") is not None:
        operator = ">=" if kwargs.get("strict_max") else ">"
        bounds.append(f"{column} {operator} {_literal(kwargs['max_value'])}")
    return "(" + " or ".join(bounds or ["false"]) + ")"


class _WindowQueries:
    """SQL over one window of one table: aggregates for counts, small `limit`ed selects for samples."""

    def __init__(self, table_suite: TableSuite, start: dt.datetime, warehouse: str) -> None:
        self.table = f"{_quoted(table_suite.schema)}.{_quoted(table_suite.table)}"
        self.window = f"{_quoted(table_suite.window_column or '')} = {_literal(start)}"
        self.warehouse = warehouse

    def unexpected(self, expectation_type: str, kwargs: dict[str, Any]) -> tuple[str, str]:
        """(an aggregate counting the unexpected rows, a select of up to SAMPLE_SIZE unexpected values)."""
        column = _quoted(kwargs["column"])
        where = f"from {self.table} where {self.window}"
        if expectation_type == "expect_column_values_to_not_be_null":
            return f"count(*) - count({column})", f"select {column} {where} and {column} is null"
        if expectation_type == "expect_column_values_to_be_between":
            predicate = _out_of_range(column, kwargs)
            return f"count(*) filter (where {predicate})", f"select {column} {where} and {predicate}"
        if expectation_type == "expect_column_values_to_be_unique":
            duplicated = (
                f"select {column} {where} and {column} is not null group by {column} having count(*) > 1"
            )
            counted = (
                f"select count(*) as n {where} and {column} is not null group by {column} having count(*) > 1"
            )
            summed = f"(select coalesce(sum(n), 0) from ({counted}) as duplicated)"
            if self.warehouse == "postgres":
                # Grouping every key hash-aggregates and spills (a 6M-row window: 10 s); counting the distinct
                # keys sorts them (4 s), and PostgreSQL runs the grouping only when that finds a duplicate.
                # DuckDB's grouping is fast, and it would run both.
                summed = f"case when count({column}) > count(distinct {column}) then {summed} else 0 end"
            return summed, duplicated
        raise UnsupportedExpectation(f"{expectation_type} has no SQL form for window validation")


def _sql_result(
    settings: Settings,
    table_suite: TableSuite,
    expectations: list[Expectation],
    start: dt.datetime,
    run_id: Any,
) -> ExpectationSuiteValidationResult:
    from great_expectations.core import ExpectationSuiteValidationResult, ExpectationValidationResult

    queries = _WindowQueries(table_suite, start, settings.warehouse)
    column_expectations = [
        e for e in expectations if e.configuration.type != "expect_table_row_count_to_be_between"
    ]
    selects = ["count(*)"]
    samples = []
    for expectation in column_expectations:
        aggregate, sample = queries.unexpected(
            expectation.configuration.type, expectation.configuration.kwargs
        )
        column = _quoted(expectation.configuration.kwargs["column"])
        selects += [aggregate, f"count({column})"]
        samples.append(sample)
    with connect(settings) as connection:
        counts = connection.execute(
            f"select {', '.join(selects)} from {queries.table} where {queries.window}"
        )[0]
        rows = int(counts[0])
        results = []
        column_index = 0
        for expectation in expectations:
            kwargs = expectation.configuration.kwargs
            if expectation.configuration.type == "expect_table_row_count_to_be_between":
                low, high = kwargs.get("min_value"), kwargs.get("max_value")
                success = (low is None or rows >= low) and (high is None or rows <= high)
                result: dict[str, Any] = {"observed_value": rows}
            else:
                unexpected, nonmissing = (
                    int(value) for value in counts[1 + 2 * column_index : 3 + 2 * column_index]
                )
                sample = samples[column_index]
                column_index += 1
                success = unexpected == 0
                listed = (
                    [row[0] for row in connection.execute(f"{sample} limit {SAMPLE_SIZE}")]
                    if unexpected
                    else []
                )
                result = _column_result(expectation.configuration.type, rows, nonmissing, unexpected, listed)
            results.append(
                ExpectationValidationResult(
                    success=success, expectation_config=expectation.configuration, result=result
                )
            )
    evaluated, successful = len(results), sum(1 for r in results if r.success)
    return ExpectationSuiteValidationResult(
        success=evaluated == successful,
        results=results,
        suite_name=table_suite.name,
        statistics={
            "evaluated_expectations": evaluated,
            "successful_expectations": successful,
            "unsuccessful_expectations": evaluated - successful,
            "success_percent": 100.0 * successful / evaluated if evaluated else None,
        },
        meta={
            "active_batch_definition": {
                "datasource_name": DATASOURCES[settings.warehouse],
                "data_asset_name": f"{table_suite.schema}.{table_suite.table}",
                "batch_definition_name": "window (computed in SQL)",
            },
            "batch_parameters": {table_suite.window_column: str(start)},
            "run_id": run_id,
            "validation_time": run_id.run_time,
        },
    )


def _column_result(
    expectation_type: str, rows: int, nonmissing: int, unexpected: int, listed: list[Any]
) -> dict[str, Any]:
    """GX's SUMMARY result keys; as in GX, not-null counts against every row, the rest against non-null rows."""
    missing = rows - nonmissing
    base = nonmissing if expectation_type != "expect_column_values_to_not_be_null" else rows
    return {
        "element_count": rows,
        "unexpected_count": unexpected,
        "unexpected_percent": 100.0 * unexpected / base if base else None,
        "unexpected_percent_total": 100.0 * unexpected / rows if rows else None,
        "partial_unexpected_list": listed,
        "missing_count": missing if expectation_type != "expect_column_values_to_not_be_null" else 0,
        "missing_percent": 100.0 * missing / rows
        if rows and expectation_type != "expect_column_values_to_not_be_null"
        else 0.0,
    }


def _store(
    context: FileDataContext,
    table_suite: TableSuite,
    result: ExpectationSuiteValidationResult,
    run_id: Any,
    start: dt.datetime,
) -> None:
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    suite_id = ExpectationSuiteIdentifier(name=table_suite.name)
    context.validation_results_store.store_validation_results(
        suite_validation_result=result,
        suite_validation_result_identifier=ValidationResultIdentifier(
            expectation_suite_identifier=suite_id,
            run_id=run_id,
            batch_identifier=f"window-{start:%Y%m%dT%H%M}",
        ),
        expectation_suite_identifier=suite_id,
    )
