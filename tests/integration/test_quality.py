"""GX checkpoints on real DuckDB tables: a clean warehouse passes, a broken one fails readably."""

from __future__ import annotations

import dataclasses
import filecmp
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from de_sandbox.quality.validate import DataQualityError, validate
from de_sandbox.settings import REPO_ROOT, Settings, get_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

COMMITTED_GX = REPO_ROOT / "great_expectations"

CLEAN_TABLES = """
create schema raw;
create schema marts;
create table raw.raw_customers as select * from (values
    (1, 'Greta', 'Martin', 'greta.martin1@example.com', 'DK', timestamp '2023-07-24 14:34:00'),
    (2, 'Rosa', 'Moreau', '  ROSA.moreau2@example.com ', 'FR', timestamp '2023-06-04 10:19:00')
) t(id, first_name, last_name, email, country, created_at);
create table marts.dim_customers as select * from (values
    (1, 'Greta', 'Martin', 'greta.martin1@example.com', 'DK', 2, 150.50::decimal(12, 2),
     date '2024-01-02', date '2024-02-01'),
    (2, 'Rosa', 'Moreau', 'rosa.moreau2@example.com', 'FR', 0, 0::decimal(12, 2), null::date, null::date)
) t(customer_id, first_name, last_name, email, country_code, order_count, lifetime_value,
    first_order_date, last_order_date);
create table marts.fct_orders as select * from (values
    (1, 1, 5, date '2024-01-02', 1, 89.90::decimal(12, 2), 89.90::decimal(12, 2), 'shipped'),
    (2, 1, 3, date '2024-02-01', 2, 30.30::decimal(12, 2), 60.60::decimal(12, 2), 'completed')
) t(order_id, customer_id, product_id, order_date, quantity, unit_price, amount, status);
"""

# Duplicate keys, a null and an upper-case e-mail, a negative amount and an unknown status.
BREAK_TABLES = """
insert into marts.dim_customers values
    (2, 'Rosa', 'Moreau', null, 'FR', 0, 0, null, null),
    (3, 'Ben', 'Murphy', 'BEN.MURPHY3@EXAMPLE.COM', 'DK', 1, -4.00, date '2024-01-05', date '2024-01-05');
insert into marts.fct_orders values
    (2, 1, 3, date '2024-02-01', 2, 30.30, 60.60, 'lost'),
    (3, 2, 3, date '2024-02-02', 1, 30.30, 30.30, 'misplaced');
"""


def make_settings(tmp_path: Path, *, broken: bool) -> Settings:
    """A warehouse file and a copy of the committed GX context, both in tmp_path."""
    duckdb_path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(duckdb_path)) as connection:
        connection.execute(CLEAN_TABLES)
        if broken:
            connection.execute(BREAK_TABLES)
    gx_root = tmp_path / "great_expectations"
    shutil.copytree(COMMITTED_GX, gx_root, ignore=shutil.ignore_patterns("uncommitted"))
    settings = get_settings()
    return dataclasses.replace(settings, warehouse="duckdb", duckdb_path=duckdb_path, gx_root_dir=gx_root)


def test_clean_warehouse_passes_and_builds_data_docs(tmp_path):
    settings = make_settings(tmp_path, broken=False)

    report = validate(settings, "de_sandbox")

    assert report["success"] is True
    assert [suite["suite"] for suite in report["suites"]] == [
        "de_sandbox.raw.raw_customers",
        "de_sandbox.marts.dim_customers",
        "de_sandbox.marts.fct_orders",
    ]
    for suite in report["suites"]:
        assert suite["success"] and suite["evaluated"] == suite["successful"] > 0, suite
    docs = Path(report["data_docs"])
    assert docs.is_file()
    assert docs.parent == tmp_path / "great_expectations/uncommitted/data_docs/local_site"


def test_broken_warehouse_fails_with_readable_summary(tmp_path):
    settings = make_settings(tmp_path, broken=True)

    with pytest.raises(DataQualityError) as caught:
        validate(settings, "de_sandbox")

    message = str(caught.value)
    lines = message.splitlines()
    assert "6 of 22 expectations failed (2 of 3 suites)" in lines[0]
    assert (
        "  de_sandbox.marts.dim_customers: expect_column_values_to_be_unique on column 'customer_id': "
        "2 of 4 rows unexpected (50.0%), e.g. [2]"
    ) in lines
    assert (
        "  de_sandbox.marts.dim_customers: expect_column_values_to_not_be_null on column 'email': "
        "1 of 4 rows unexpected (25.0%)"
    ) in lines
    assert any("expect_column_values_to_match_regex on column 'email'" in line for line in lines)
    assert any("'BEN.MURPHY3@EXAMPLE.COM'" in line for line in lines)
    assert (
        "  de_sandbox.marts.fct_orders: expect_column_values_to_be_in_set on column 'status': "
        "2 of 4 rows unexpected (50.0%), e.g. ['lost', 'misplaced']"
    ) in lines
    report = caught.value.report
    assert report["success"] is False
    assert [suite["success"] for suite in report["suites"]] == [True, False, False]
    docs = Path(report["data_docs"])
    assert docs.is_file()
    assert "de_sandbox.marts.fct_orders" in docs.read_text()


def test_factories_reproduce_the_committed_context(tmp_path):
    from de_sandbox.quality.context import build_checkpoints, open_context

    settings = make_settings(tmp_path, broken=False)

    build_checkpoints(open_context(settings), "de_sandbox", "duckdb")

    comparison = filecmp.dircmp(COMMITTED_GX, settings.gx_root_dir, ignore=["uncommitted"])
    differences: list[str] = []

    def collect(node: filecmp.dircmp, prefix: str) -> None:
        differences.extend(prefix + name for name in node.left_only + node.right_only + node.diff_files)
        for name, child in node.subdirs.items():
            collect(child, f"{prefix}{name}/")

    collect(comparison, "")
    assert differences == [], "stale GX config: run `de-sandbox gx-config`, commit great_expectations/"


PROBE_DAG = textwrap.dedent(
    """
    \"\"\"Runs the GX validation task alone, as airflow dags test would, and prints its outcome as JSON.\"\"\"
    import json
    from datetime import datetime

    from airflow.sdk import DAG

    from de_sandbox.quality.airflow import REPORT_XCOM_KEY, gx_validation_task

    with DAG("gx_probe", schedule=None, start_date=datetime(2024, 1, 1), default_args={"retries": 2}) as dag:
        gx_validation_task(dbt_project="de_sandbox")

    if __name__ == "__main__":
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        run = dag.test()
        ti = run.get_task_instance("validate_data_quality")
        with create_session() as session:
            xcom = session.query(XComModel).filter_by(run_id=run.run_id, key=REPORT_XCOM_KEY).one()
            outcome = {"state": str(ti.state), "tries": ti.try_number, "report": xcom.value}
            print("OUTCOME " + json.dumps(outcome))
    """
)


@pytest.mark.timeout(900)
def test_airflow_task_fails_without_retry_and_pushes_the_report(tmp_path):
    settings = make_settings(tmp_path, broken=True)
    airflow_home = tmp_path / "airflow"
    (airflow_home / "dags").mkdir(parents=True)
    dag_file = airflow_home / "dags" / "gx_probe.py"
    dag_file.write_text(PROBE_DAG)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(airflow_home / "dags"),
        "WAREHOUSE": "duckdb",
        "DUCKDB_PATH": str(settings.duckdb_path),
        "GX_ROOT_DIR": str(settings.gx_root_dir),
    }
    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], env=env, check=True, capture_output=True)

    run = subprocess.run([sys.executable, str(dag_file)], env=env, capture_output=True, text=True)

    log = run.stdout + run.stderr
    (outcome,) = [json.loads(line[8:]) for line in run.stdout.splitlines() if line.startswith("OUTCOME ")]
    assert outcome["state"] == "failed" and outcome["tries"] == 1, log[-3000:]
    assert outcome["report"]["success"] is False
    assert [suite["unsuccessful"] for suite in outcome["report"]["suites"]] == [0, 4, 2]
    assert "AirflowFailException: Data quality failed for dbt project 'de_sandbox'" in log
    assert "expect_column_values_to_be_in_set on column 'status': 2 of 4 rows unexpected" in log
    assert "Calculating Metrics" not in log
