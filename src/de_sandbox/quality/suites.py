"""Expectation suites for warehouse tables, built by small factory functions and registered per dbt project.

GX takes ~15 s to import, so each factory imports it lazily: DAG parsing and the registry stay fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

ORDER_STATUSES = ["placed", "shipped", "completed", "returned", "cancelled"]
# Lower-case only: dim_customers carries the cleaned e-mail, so an upper-case address is a cleaning bug.
EMAIL_REGEX = r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$"


@dataclass(frozen=True)
class TableSuite:
    """One warehouse table and the factory that builds its expectation suite."""

    project: str
    schema: str
    table: str
    build: Callable[[str], ExpectationSuite]

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


# Keyed by the dbt project's `name:`; a bring-your-own project absent here has no suites.
SUITES: dict[str, tuple[TableSuite, ...]] = {
    "de_sandbox": (
        TableSuite("de_sandbox", "raw", "raw_customers", raw_customers_suite),
        TableSuite("de_sandbox", "marts", "dim_customers", dim_customers_suite),
        TableSuite("de_sandbox", "marts", "fct_orders", fct_orders_suite),
    ),
}


def suites_for_project(project: str) -> tuple[TableSuite, ...]:
    """The table suites registered for a dbt project name; empty when none apply."""
    return SUITES.get(project, ())
