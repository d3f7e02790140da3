"""Run the GX checkpoints of a dbt project's tables, rebuild the Data Docs, and report failures readably.

The report is a small JSON-safe dict (it travels through XCom); `DataQualityError` carries it and a summary.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from de_sandbox.dbt.project import dbt_project_name
from de_sandbox.quality.suites import TableSuite, suites_for_project
from de_sandbox.settings import Settings
from de_sandbox.warehouse import duckdb_connection

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.data_context import FileDataContext

SAMPLE_SIZE = 5


class DataQualityError(Exception):
    """At least one expectation failed; the message has one line per failed expectation."""

    def __init__(self, report: dict[str, Any]):
        super().__init__(format_failures(report))
        self.report = report


def data_docs_index(settings: Settings) -> Path:
    return settings.gx_root_dir / "uncommitted" / "data_docs" / "local_site" / "index.html"


def read_duckdb_table(settings: Settings, schema: str, table: str) -> pd.DataFrame:
    """Read one table and close at once: DuckDB allows one writer process, so hold no connection longer."""
    with duckdb_connection(settings, read_only=True) as connection:
        return connection.sql(f'select * from "{schema}"."{table}"').df()


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    return str(value)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _samples(result: dict[str, Any]) -> list[Any]:
    samples: list[Any] = []
    for value in result.get("partial_unexpected_list") or []:
        if not _is_missing(value) and value not in samples:
            samples.append(value)
    return _json_safe(samples[:SAMPLE_SIZE])


def failure_entry(expectation_result: Any) -> dict[str, Any]:
    """The readable facts of one failed ExpectationValidationResult."""
    config = expectation_result.expectation_config
    result = expectation_result.result or {}
    entry = {
        "expectation": config.type,
        "column": config.kwargs.get("column"),
        "element_count": result.get("element_count"),
        "unexpected_count": result.get("unexpected_count"),
        "unexpected_percent": result.get("unexpected_percent_total", result.get("unexpected_percent")),
        "sample": _samples(result),
        "observed_value": result.get("observed_value"),
    }
    if expectation_result.exception_info.get("raised_exception"):
        entry["exception"] = expectation_result.exception_info.get("exception_message")
    return _json_safe(entry)


def suite_entry(table_suite: TableSuite, suite_result: Any) -> dict[str, Any]:
    """GX's own key names (suite_name, statistics), so metrics.facts.record_gx_results reads the report as is."""
    counts = ("evaluated_expectations", "successful_expectations", "unsuccessful_expectations")
    return {
        "suite_name": table_suite.name,
        "table": f"{table_suite.schema}.{table_suite.table}",
        "success": bool(suite_result.success),
        "statistics": {count: int(suite_result.statistics[count]) for count in counts},
        "failures": [failure_entry(result) for result in suite_result.results if not result.success],
    }


def _failure_line(suite: str, failure: dict[str, Any]) -> str:
    where = f" on column {failure['column']!r}" if failure.get("column") else ""
    line = f"  {suite}: {failure['expectation']}{where}"
    if failure.get("unexpected_count") is not None:
        percent = failure.get("unexpected_percent") or 0.0
        rows = f"{failure['unexpected_count']} of {failure.get('element_count')} rows"
        line += f": {rows} unexpected ({percent:.1f}%)"
        if failure.get("sample"):
            line += f", e.g. {failure['sample']}"
    elif failure.get("observed_value") is not None:
        line += f": observed {failure['observed_value']!r}"
    if failure.get("exception"):
        line += f": raised {failure['exception']}"
    return line


def format_failures(report: dict[str, Any]) -> str:
    """One header line, then one line per failed expectation: suite, expectation, column, rows, samples."""
    suites = report["validation_results"]
    failed = [suite for suite in suites if not suite["success"]]
    unsuccessful = sum(suite["statistics"]["unsuccessful_expectations"] for suite in suites)
    evaluated = sum(suite["statistics"]["evaluated_expectations"] for suite in suites)
    lines = [
        f"Data quality failed for dbt project {report['dbt_project']!r} ({report['warehouse']}): "
        f"{unsuccessful} of {evaluated} expectations failed ({len(failed)} of {len(suites)} suites)"
    ]
    for suite in failed:
        lines.extend(_failure_line(suite["suite_name"], failure) for failure in suite["failures"])
    lines.append(f"Data Docs: {report['data_docs']}")
    return "\n".join(lines)


def format_report(report: dict[str, Any]) -> str:
    """A short human summary of a report, success or not."""
    if not report["validation_results"]:
        return report["message"]
    if not report["success"]:
        return format_failures(report)
    lines = [f"Data quality passed for dbt project {report['dbt_project']!r} ({report['warehouse']}):"]
    lines.extend(
        f"  {suite['suite_name']}: {suite['statistics']['successful_expectations']}"
        f"/{suite['statistics']['evaluated_expectations']} expectations met"
        for suite in report["validation_results"]
    )
    lines.append(f"Data Docs: {report['data_docs']}")
    return "\n".join(lines)


def _run_checkpoint(context: FileDataContext, settings: Settings, table_suite: TableSuite) -> Any:
    from de_sandbox.quality.context import checkpoint

    batch_parameters = {}
    if settings.warehouse == "duckdb":
        batch_parameters = {"dataframe": read_duckdb_table(settings, table_suite.schema, table_suite.table)}
    result = checkpoint(context, table_suite, settings.warehouse).run(batch_parameters=batch_parameters)
    (suite_result,) = result.run_results.values()
    return suite_result


def validate(settings: Settings, dbt_project: str | None = None) -> dict[str, Any]:
    """Validate every registered table of the dbt project; raise DataQualityError if any expectation fails.

    The Data Docs are rebuilt whatever happens, so the failing run is visible there too.
    """
    project = dbt_project or dbt_project_name(settings.dbt_project_dir)
    table_suites = suites_for_project(project)
    report: dict[str, Any] = {
        "dbt_project": project,
        "warehouse": settings.warehouse,
        "success": True,
        "validation_results": [],
        "data_docs": None,
    }
    if not table_suites:
        report["message"] = f"no expectation suites apply to dbt project {project!r}"
        return report

    from de_sandbox.quality.context import DATA_DOCS_SITE, open_context, quiet_gx_logging

    context = open_context(settings)
    try:
        for table_suite in table_suites:
            suite_result = _run_checkpoint(context, settings, table_suite)
            report["validation_results"].append(suite_entry(table_suite, suite_result))
    finally:
        context.build_data_docs(site_names=[DATA_DOCS_SITE])
        quiet_gx_logging()
    report["data_docs"] = str(data_docs_index(settings))
    report["success"] = all(suite["success"] for suite in report["validation_results"])
    if not report["success"]:
        raise DataQualityError(report)
    return report
