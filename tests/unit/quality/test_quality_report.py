"""The GX-free pieces of data quality: the suite registry, bring-your-own projects and the failure summary."""

from __future__ import annotations

import dataclasses

from de_sandbox.quality.suites import suites_for_project
from de_sandbox.quality.validate import format_failures, format_report, validate
from de_sandbox.settings import get_settings

FAILED_REPORT = {
    "dbt_project": "de_sandbox",
    "warehouse": "duckdb",
    "success": False,
    "data_docs": "/gx/uncommitted/data_docs/local_site/index.html",
    "validation_results": [
        {
            "suite_name": "de_sandbox.raw.raw_customers",
            "table": "raw.raw_customers",
            "success": True,
            "statistics": {
                "evaluated_expectations": 6,
                "successful_expectations": 6,
                "unsuccessful_expectations": 0,
            },
            "failures": [],
        },
        {
            "suite_name": "de_sandbox.marts.fct_orders",
            "table": "marts.fct_orders",
            "success": False,
            "statistics": {
                "evaluated_expectations": 8,
                "successful_expectations": 6,
                "unsuccessful_expectations": 2,
            },
            "failures": [
                {
                    "expectation": "expect_column_values_to_be_in_set",
                    "column": "status",
                    "element_count": 200,
                    "unexpected_count": 3,
                    "unexpected_percent": 1.5,
                    "sample": ["lost", "misplaced"],
                    "observed_value": None,
                },
                {
                    "expectation": "expect_table_row_count_to_be_between",
                    "column": None,
                    "element_count": None,
                    "unexpected_count": None,
                    "unexpected_percent": None,
                    "sample": [],
                    "observed_value": 0,
                },
            ],
        },
    ],
}


def test_registry_holds_the_example_tables_and_nothing_for_other_projects():
    assert [table.name for table in suites_for_project("de_sandbox")] == [
        "de_sandbox.raw.raw_customers",
        "de_sandbox.marts.dim_customers",
        "de_sandbox.marts.fct_orders",
    ]
    assert suites_for_project("jaffle_shop") == ()


def test_failure_summary_names_suite_expectation_column_rows_and_samples():
    assert format_failures(FAILED_REPORT).splitlines() == [
        "Data quality failed for dbt project 'de_sandbox' (duckdb): "
        "2 of 14 expectations failed (1 of 2 suites)",
        "  de_sandbox.marts.fct_orders: expect_column_values_to_be_in_set on column 'status': "
        "3 of 200 rows unexpected (1.5%), e.g. ['lost', 'misplaced']",
        "  de_sandbox.marts.fct_orders: expect_table_row_count_to_be_between: observed 0",
        "Data Docs: /gx/uncommitted/data_docs/local_site/index.html",
    ]


def test_passing_report_summary_counts_met_expectations():
    report = {**FAILED_REPORT, "success": True, "validation_results": FAILED_REPORT["validation_results"][:1]}
    assert format_report(report).splitlines()[1] == "  de_sandbox.raw.raw_customers: 6/6 expectations met"


def test_bring_your_own_project_without_suites_reports_that_none_apply(tmp_path):
    (tmp_path / "dbt_project.yml").write_text("name: 'jaffle_shop'\nversion: '1.0.0'\nprofile: jaffle_shop\n")
    settings = dataclasses.replace(get_settings(), dbt_project_dir=tmp_path, gx_root_dir=tmp_path / "gx")

    report = validate(settings)

    assert report["success"] is True
    assert report["validation_results"] == []
    assert report["message"] == "no expectation suites apply to dbt project 'jaffle_shop'"
    assert format_report(report) == report["message"]
    assert not (tmp_path / "gx").exists()


def test_report_is_what_the_metrics_facts_store_reads(tmp_path):
    from de_sandbox.metrics.facts import record_gx_results

    assert (
        record_gx_results(FAILED_REPORT, "example_pipeline", "manual__1", db=tmp_path / "facts.sqlite") == 2
    )
