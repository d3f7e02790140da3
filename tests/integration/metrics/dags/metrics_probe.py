"""Test DAG for the metrics exporter: records one fact of every kind, as the real pipelines do (airflow)."""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag, get_current_context, task


@dag(
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    doc_md=__doc__,
    tags=["test"],
    default_args={"owner": "monitoring", "retries": 0},
)
def metrics_probe():
    @task
    def load_orders() -> None:
        from de_sandbox.metrics import facts

        facts.record_ingestion("probe", "raw_orders", "2026-01-01", "2026-01-02", 42, 40, 2, "success")
        facts.record_freshness("probe", "raw_orders", pendulum.now("UTC").subtract(hours=2), 3600)
        facts.record_freshness("probe", "raw_customers", pendulum.now("UTC"), 86400)

    @task
    def transform() -> None:
        from de_sandbox.metrics import facts

        ctx = get_current_context()
        facts.record_dbt_results(os.environ["PROBE_DBT_TARGET"], ctx["dag"].dag_id, ctx["run_id"])

    @task
    def validate_orders() -> None:
        import great_expectations as gx
        import pandas as pd

        from de_sandbox.metrics import facts

        context = gx.get_context(mode="ephemeral")
        batch = (
            context.data_sources.add_pandas("probe")
            .add_dataframe_asset("orders")
            .add_batch_definition_whole_dataframe("all")
        )
        suite = context.suites.add(gx.ExpectationSuite(name="probe_orders"))
        suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="order_id"))
        suite.add_expectation(gx.expectations.ExpectColumnValuesToBeBetween(column="amount", min_value=0))
        suite.add_expectation(gx.expectations.ExpectTableRowCountToEqual(value=999))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name="probe_orders", data=batch, suite=suite)
        )
        frame = pd.DataFrame({"order_id": [1, 2, 3], "amount": [10.0, 0.5, 7.25]})
        result = definition.run(batch_parameters={"dataframe": frame})
        ctx = get_current_context()
        facts.record_gx_results(result, ctx["dag"].dag_id, ctx["run_id"])

    load_orders() >> transform() >> validate_orders()


metrics_probe()
