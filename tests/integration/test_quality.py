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

from de_sandbox.airflow_env import airflow_env, ensure_metadata_db
from de_sandbox.dbt.project import run_dbt
from de_sandbox.metrics.facts import read_facts
from de_sandbox.quality.validate import DataQualityError, validate
from de_sandbox.settings import REPO_ROOT, Settings, get_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

COMMITTED_GX = REPO_ROOT / "great_expectations"

# Duplicate key, null and upper-case e-mails, negative lifetime value, duplicate order, unknown statuses.
# CTAS, not insert: dbt's enforced contract put a primary key on dim_customers.
BREAK_TABLES = """
create or replace table marts.dim_customers as
select * from marts.dim_customers
union all
select * replace (null as email) from marts.dim_customers where customer_id = 1
union all
select * replace (9999 as customer_id, 'BEN.MURPHY@EXAMPLE.COM' as email, -4.00 as lifetime_value)
from marts.dim_customers where customer_id = 2;
create or replace table marts.fct_orders as
select * from marts.fct_orders
union all
(select * replace ('lost' as status) from marts.fct_orders order by order_id limit 1)
union all
(select * replace (999999 as order_id, 'misplaced' as status)
 from marts.fct_orders order by order_id limit 1);
"""


@pytest.fixture(scope="module")
def dbt_warehouse(tmp_path_factory) -> Path:
    """The example tables as dbt builds them from the seeds, once per module (each test works on a copy)."""
    root = tmp_path_factory.mktemp("dbt_warehouse")
    settings = dataclasses.replace(
        get_settings(), warehouse="duckdb", data_dir=root / "data", duckdb_path=root / "warehouse.duckdb"
    )
    dbt_bin = str(Path(sys.executable).with_name("dbt"))
    run_dbt(
        settings,
        ["build", "--select", "tag:shop", "--resource-type", "seed", "--resource-type", "model"],
        dbt_bin,
    )
    return settings.duckdb_path


def make_settings(tmp_path: Path, warehouse_file: Path, *, broken: bool) -> Settings:
    """A copy of the warehouse file and of the committed GX context, both in tmp_path."""
    duckdb_path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse_file, duckdb_path)
    if broken:
        with duckdb.connect(str(duckdb_path)) as connection:
            connection.execute(BREAK_TABLES)
    gx_root = tmp_path / "great_expectations"
    shutil.copytree(COMMITTED_GX, gx_root, ignore=shutil.ignore_patterns("uncommitted"))
    settings = get_settings()
    return dataclasses.replace(settings, warehouse="duckdb", duckdb_path=duckdb_path, gx_root_dir=gx_root)


def test_clean_warehouse_passes_and_builds_data_docs(tmp_path, dbt_warehouse):
    settings = make_settings(tmp_path, dbt_warehouse, broken=False)

    report = validate(settings, "de_sandbox")

    assert report["success"] is True
    assert [suite["suite_name"] for suite in report["validation_results"]] == [
        "de_sandbox.raw.raw_customers",
        "de_sandbox.marts.dim_customers",
        "de_sandbox.marts.fct_orders",
    ]
    for suite in report["validation_results"]:
        counts = suite["statistics"]
        assert suite["success"] and counts["evaluated_expectations"] == counts["successful_expectations"] > 0
    docs = Path(report["data_docs"])
    assert docs.is_file()
    assert docs.parent == tmp_path / "great_expectations/uncommitted/data_docs/local_site"


def test_broken_warehouse_fails_with_readable_summary(tmp_path, dbt_warehouse):
    settings = make_settings(tmp_path, dbt_warehouse, broken=True)

    with pytest.raises(DataQualityError) as caught:
        validate(settings, "de_sandbox")

    lines = str(caught.value).splitlines()
    assert lines[0] == (
        "Data quality failed for dbt project 'de_sandbox' (duckdb): "
        "6 of 24 expectations failed (2 of 3 suites)"
    )
    assert (
        "  de_sandbox.marts.dim_customers: expect_column_values_to_be_unique on column 'customer_id': "
        "2 of 52 rows unexpected (3.8%), e.g. [1]"
    ) in lines
    assert (
        "  de_sandbox.marts.dim_customers: expect_column_values_to_not_be_null on column 'email': "
        "1 of 52 rows unexpected (1.9%)"
    ) in lines
    assert (
        "  de_sandbox.marts.dim_customers: expect_column_values_to_match_regex on column 'email': "
        "1 of 52 rows unexpected (1.9%), e.g. ['BEN.MURPHY@EXAMPLE.COM']"
    ) in lines
    assert (
        "  de_sandbox.marts.dim_customers: expect_column_values_to_be_between on column 'lifetime_value': "
        "1 of 52 rows unexpected (1.9%), e.g. [-4.0]"
    ) in lines
    duplicate_order = "  de_sandbox.marts.fct_orders: expect_column_values_to_be_unique on column 'order_id':"
    assert any(line.startswith(duplicate_order + " 2 of 202 rows unexpected") for line in lines)
    assert (
        "  de_sandbox.marts.fct_orders: expect_column_values_to_be_in_set on column 'status': "
        "2 of 202 rows unexpected (1.0%), e.g. ['lost', 'misplaced']"
    ) in lines
    report = caught.value.report
    assert report["success"] is False
    assert [suite["success"] for suite in report["validation_results"]] == [True, False, False]
    docs = Path(report["data_docs"])
    assert docs.is_file()
    assert "de_sandbox.marts.fct_orders" in docs.read_text()


def test_factories_reproduce_the_committed_context(tmp_path):
    from de_sandbox.quality.context import build_checkpoints, open_context

    settings = dataclasses.replace(get_settings(), gx_root_dir=tmp_path / "great_expectations")
    shutil.copytree(COMMITTED_GX, settings.gx_root_dir, ignore=shutil.ignore_patterns("uncommitted"))

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

    from de_sandbox.orchestration.quality import REPORT_XCOM_KEY, gx_validation_task

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
def test_airflow_task_fails_without_retry_and_pushes_the_report(tmp_path, dbt_warehouse):
    settings = make_settings(tmp_path, dbt_warehouse, broken=True)
    airflow_home = tmp_path / "airflow"
    (airflow_home / "dags").mkdir(parents=True)
    dag_file = airflow_home / "dags" / "gx_probe.py"
    dag_file.write_text(PROBE_DAG)
    env = airflow_env(settings, airflow_home, f"sqlite:///{airflow_home / 'airflow.db'}")
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dag_file.parent)
    ensure_metadata_db(env)

    env = {**os.environ, **env}
    run = subprocess.run([sys.executable, dag_file], env=env, capture_output=True, text=True)

    log = run.stdout + run.stderr
    (outcome,) = [json.loads(line[8:]) for line in run.stdout.splitlines() if line.startswith("OUTCOME ")]
    assert outcome["state"] == "failed" and outcome["tries"] == 1, log[-3000:]
    assert outcome["report"]["success"] is False
    statistics = [suite["statistics"] for suite in outcome["report"]["validation_results"]]
    assert [counts["unsuccessful_expectations"] for counts in statistics] == [0, 4, 2]
    assert "AirflowFailException: Data quality failed for dbt project 'de_sandbox'" in log
    assert "expect_column_values_to_be_in_set on column 'status': 2 of 202 rows unexpected" in log
    assert "Calculating Metrics" not in log
    # the failed validation also reached the metrics facts store, per suite, for Prometheus to alert on
    gx_facts = read_facts(settings.data_dir / "metrics" / "facts.sqlite")["gx"]
    assert sorted((row["success"], row["failed"]) for row in gx_facts) == [(0, 2), (0, 4), (1, 0)]


PG_TABLES = """
create schema raw;
create schema marts;
create table raw.raw_customers as select * from (values
    (1, 'Greta', 'Martin', 'greta.martin1@example.com', 'DK', timestamp '2023-07-24 14:34:00'),
    (2, 'Rosa', 'Moreau', '  ROSA.moreau2@example.com ', 'FR', timestamp '2023-06-04 10:19:00')
) t(id, first_name, last_name, email, country, created_at);
create table marts.dim_customers as select * from (values
    (1, 'Greta', 'Martin', 'greta.martin1@example.com', 'DK', 2, 150.50::numeric(12, 2)),
    (2, 'Rosa', 'Moreau', 'rosa.moreau2@example.com', 'FR', 0, 0::numeric(12, 2))
) t(customer_id, first_name, last_name, email, country_code, order_count, lifetime_value);
create table marts.fct_orders as select * from (values
    (1, 1, 5, date '2024-01-02', 1, 89.90::numeric(12, 2), 'shipped'),
    (2, 1, 3, date '2024-02-01', 2, 60.60::numeric(12, 2), 'completed'),
    (3, 2, 3, date '2024-02-03', 1, 30.30::numeric(12, 2), 'lost')
) t(order_id, customer_id, product_id, order_date, quantity, amount, status);
"""


def test_postgres_tables_validate_through_the_sql_datasource(tmp_path, postgres_server):
    # A database of its own on the session's server: other tests build the example into the warehouse DB.
    admin = postgres_server.connect("postgres")
    admin.cursor().execute("drop database if exists gx_quality")
    admin.cursor().execute("create database gx_quality")
    admin.close()
    warehouse = postgres_server.connect("gx_quality")
    warehouse.cursor().execute(PG_TABLES)
    warehouse.close()
    gx_root = tmp_path / "great_expectations"
    shutil.copytree(COMMITTED_GX, gx_root, ignore=shutil.ignore_patterns("uncommitted"))
    settings = dataclasses.replace(
        get_settings(),
        warehouse="postgres",
        gx_root_dir=gx_root,
        postgres_host=postgres_server.host,
        postgres_port=postgres_server.port,
        postgres_user=postgres_server.user,
        postgres_password=postgres_server.password,
        warehouse_db="gx_quality",
    )

    with pytest.raises(DataQualityError) as caught:
        validate(settings, "de_sandbox")

    report = caught.value.report
    assert report["warehouse"] == "postgres"
    assert [suite["success"] for suite in report["validation_results"]] == [True, True, False]
    assert (
        "  de_sandbox.marts.fct_orders: expect_column_values_to_be_in_set on column 'status': "
        "1 of 3 rows unexpected (33.3%), e.g. ['lost']"
    ) in str(caught.value).splitlines()
    assert Path(report["data_docs"]).is_file()
    config = (gx_root / "great_expectations.yml").read_text()
    assert "warehouse_postgres" in config and "${postgres_warehouse_url}" in config
    assert postgres_server.password not in config
