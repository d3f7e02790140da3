"""Expectation suites for warehouse tables, built by small factory functions and registered per dbt project:
whole tables (checked by `gx-validate` after a build) and ingestion targets (checked one window at a time).

GX takes ~15 s to import, so each factory imports it lazily: DAG parsing and the registry stay fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

ORDER_STATUSES = ["placed", "shipped", "completed", "returned", "cancelled"]
# Lower-case only: dim_customers carries the cleaned e-mail, so an upper-case address is a cleaning bug.
EMAIL_REGEX = r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$"


@dataclass(frozen=True)
class TableSuite:
    """One warehouse table and the factory that builds its expectation suite; a window suite checks only the
    rows whose `window_column` equals the window's start."""

    project: str
    schema: str
    table: str
    build: Callable[[str], ExpectationSuite]
    window_column: str | None = None

    @property
    def name(self) -> str:
        return f"{self.project}.{self.schema}.{self.table}"

    def suite(self) -> ExpectationSuite:
        return self.build(self.name)


def raw_customers_suite(name: str) -> ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=name,
        expectations=[
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectTableColumnsToMatchSet(
                column_set=["id", "first_name", "last_name", "email", "country", "created_at"],
                exact_match=False,
            ),
            gxe.ExpectColumnValuesToNotBeNull(column="id"),
            gxe.ExpectColumnValuesToBeUnique(column="id"),
            gxe.ExpectColumnValuesToNotBeNull(column="email"),
            gxe.ExpectColumnValuesToNotBeNull(column="created_at"),
        ],
    )


def dim_customers_suite(name: str) -> ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=name,
        expectations=[
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
            gxe.ExpectColumnValuesToBeUnique(column="customer_id"),
            gxe.ExpectColumnValuesToNotBeNull(column="email"),
            gxe.ExpectColumnValuesToBeUnique(column="email"),
            gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX),
            gxe.ExpectColumnValuesToMatchRegex(column="country_code", regex=r"^[A-Z]{2}$"),
            gxe.ExpectColumnValuesToBeBetween(column="order_count", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="lifetime_value", min_value=0),
        ],
    )


def fct_orders_suite(name: str) -> ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=name,
        expectations=[
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToNotBeNull(column="order_id"),
            gxe.ExpectColumnValuesToBeUnique(column="order_id"),
            gxe.ExpectColumnValuesToNotBeNull(column="customer_id"),
            gxe.ExpectColumnValuesToNotBeNull(column="product_id"),
            gxe.ExpectColumnValuesToNotBeNull(column="order_date"),
            gxe.ExpectColumnValuesToBeBetween(column="quantity", min_value=1, max_value=1000),
            gxe.ExpectColumnValuesToBeBetween(column="amount", min_value=0),
            gxe.ExpectColumnValuesToBeInSet(column="status", value_set=ORDER_STATUSES),
        ],
    )


def fct_wikipedia_pageviews_window_suite(name: str) -> ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=name,
        expectations=[
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToBeUnique(column="pageview_key"),
            gxe.ExpectColumnValuesToNotBeNull(column="page_key"),
            gxe.ExpectColumnValuesToBeBetween(column="count_views", min_value=0),
            gxe.ExpectColumnValuesToBeBetween(column="hour_of_day", min_value=0, max_value=23),
        ],
    )


def int_parking_snapshots_window_suite(name: str) -> ExpectationSuite:
    import great_expectations as gx
    import great_expectations.expectations as gxe

    return gx.ExpectationSuite(
        name=name,
        expectations=[
            gxe.ExpectTableRowCountToBeBetween(min_value=1),
            gxe.ExpectColumnValuesToBeUnique(column="snapshot_key"),
            gxe.ExpectColumnValuesToNotBeNull(column="parking_house"),
            gxe.ExpectColumnValuesToBeBetween(column="free_spaces", min_value=0),
        ],
    )


# Keyed by the dbt project's `name:`; a bring-your-own project absent here has no suites.
SUITES: dict[str, tuple[TableSuite, ...]] = {
    "de_sandbox": (
        TableSuite("de_sandbox", "raw", "raw_customers", raw_customers_suite),
        TableSuite("de_sandbox", "marts", "dim_customers", dim_customers_suite),
        TableSuite("de_sandbox", "marts", "fct_orders", fct_orders_suite),
    ),
}

# The ingestion pipelines' targets, validated window by window as each run lands.
WINDOW_SUITES: dict[str, tuple[TableSuite, ...]] = {
    "de_sandbox": (
        TableSuite(
            "de_sandbox",
            "marts",
            "fct_wikipedia_pageviews",
            fct_wikipedia_pageviews_window_suite,
            "pageview_hour",
        ),
        TableSuite(
            "de_sandbox",
            "intermediate",
            "int_parking_snapshots_enriched",
            int_parking_snapshots_window_suite,
            "window_start",
        ),
    ),
}


def suites_for_project(project: str) -> tuple[TableSuite, ...]:
    """The table suites registered for a dbt project name; empty when none apply."""
    return SUITES.get(project, ())


def window_suites_for_project(project: str) -> tuple[TableSuite, ...]:
    """The window suites of the ingestion targets a dbt project builds; empty when none apply."""
    return WINDOW_SUITES.get(project, ())


def window_suite(project: str, table: str) -> TableSuite:
    """The window suite of a `schema.table`; KeyError names the table when none is registered."""
    for table_suite in window_suites_for_project(project):
        if f"{table_suite.schema}.{table_suite.table}" == table:
            return table_suite
    raise KeyError(f"no window expectation suite registered for {table!r} in dbt project {project!r}")


def stored_window_suite(gx_root: Path, project: str, table: str, window_column: str) -> TableSuite:
    """The window suite of a `schema.table` kept only as a GX suite file (what `make pipeline-new` writes for a
    pipeline without a factory above); KeyError names the file when it is missing."""
    schema, _, name = table.partition(".")
    path = gx_root / "expectations" / project / schema / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no window expectation suite for {table!r}: neither registered nor stored at {path}")

    def build(suite_name: str) -> ExpectationSuite:
        import great_expectations as gx
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

        stored = json.loads(path.read_text())["expectations"]
        return gx.ExpectationSuite(
            name=suite_name,
            expectations=[
                ExpectationConfiguration(
                    type=e["type"], kwargs=e["kwargs"], meta=e.get("meta") or {}
                ).to_domain_obj()
                for e in stored
            ],
        )

    return TableSuite(project, schema, name, build, window_column)
