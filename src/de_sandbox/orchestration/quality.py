"""The Airflow task that runs the GX validation of the configured dbt project; DAGs only call the factory."""

from __future__ import annotations

import logging
from typing import Any

REPORT_XCOM_KEY = "gx_report"

log = logging.getLogger(__name__)


def gx_validation_task(task_id: str = "validate_data_quality", dbt_project: str | None = None) -> Any:
    """Return the wired task (an XComArg) validating the tables of `dbt_project` (default: DBT_PROJECT_DIR's).

    The report goes to XCom under `gx_report` whether the data passes or not; a failure fails the task without
    retries (the data will not change by retrying) and its message lists every failed expectation.
    """
    from airflow.sdk import task
    from airflow.sdk.exceptions import AirflowFailException

    @task(task_id=task_id)
    def validate_data_quality(**context: Any) -> dict[str, Any]:
        from de_sandbox.quality.validate import DataQualityError, format_report, validate
        from de_sandbox.settings import get_settings

        try:
            report = validate(get_settings(), dbt_project)
        except DataQualityError as error:
            context["ti"].xcom_push(key=REPORT_XCOM_KEY, value=error.report)
            record_metrics_facts(error.report, context["ti"])
            raise AirflowFailException(str(error)) from None
        context["ti"].xcom_push(key=REPORT_XCOM_KEY, value=report)
        record_metrics_facts(report, context["ti"])
        log.info("%s", format_report(report))
        return report

    return validate_data_quality()


def record_metrics_facts(report: dict[str, Any], ti: Any) -> None:
    """Passed or failed, the validation's outcome per suite goes to the metrics facts store (Prometheus)."""
    from de_sandbox.metrics.facts import record_gx_results

    record_gx_results(report, ti.dag_id, ti.run_id)
