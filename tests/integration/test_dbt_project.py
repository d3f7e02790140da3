"""The dbt project builds on a fresh DuckDB file with its layers, unit tests and enforced contract, and a
bring-your-own project with its own layout builds through the same `run_dbt` the DAGs use."""

from __future__ import annotations

import csv
import dataclasses
import json
import shutil
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from de_sandbox.dbt.project import artifacts_dir, dbt_executable, run_dbt
from de_sandbox.settings import REPO_ROOT, Settings, get_settings

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SEEDS_DIR = REPO_ROOT / "seeds"
BYO_PROJECT = REPO_ROOT / "tests" / "fixtures" / "byo_dbt_project"
REVENUE_STATUSES = {"completed", "shipped"}


def _seed_rows(name: str) -> list[dict[str, str]]:
    with (SEEDS_DIR / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


def _duckdb_settings(tmp_dir: Path, project_dir: Path) -> Settings:
    return dataclasses.replace(
        get_settings(),
        warehouse="duckdb",
        data_dir=tmp_dir / "data",
        duckdb_path=tmp_dir / "data" / "warehouse.duckdb",
        dbt_project_dir=project_dir,
        dbt_profiles_dir=REPO_ROOT / "dbt",
    )


def _query(path: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def _count(path: Path, relation: str) -> int:
    return _query(path, f"select count(*) from {relation}")[0][0]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Settings:
    settings = _duckdb_settings(tmp_path_factory.mktemp("dbt_build"), REPO_ROOT / "dbt")
    # The shop example only: the ingestion pipelines' models read sources their loaders fill.
    run_dbt(settings, ["build", "--select", "tag:shop"], dbt_executable())
    return settings


def test_every_layer_lands_in_its_schema_with_the_seed_row_counts(built):
    customers, orders = _seed_rows("raw_customers"), _seed_rows("raw_orders")
    products = _seed_rows("raw_products")
    expected = {
        ("raw", "raw_customers"): len(customers),
        ("raw", "raw_orders"): len(orders),
        ("raw", "raw_products"): len(products),
        ("staging", "stg_shop__customers"): len(customers),
        ("staging", "stg_shop__orders"): len(orders),
        ("staging", "stg_shop__products"): len(products),
        ("intermediate", "int_orders_enriched"): len(orders),
        ("marts", "fct_orders"): len(orders),
        ("marts", "dim_customers"): len(customers),
    }
    counts = {(schema, table): _count(built.duckdb_path, f"{schema}.{table}") for schema, table in expected}
    assert counts == expected
    kinds = dict(
        _query(
            built.duckdb_path,
            "select table_schema || '.' || table_name, table_type from information_schema.tables "
            "where table_schema in ('staging', 'intermediate', 'marts')",
        )
    )
    assert kinds["staging.stg_shop__orders"] == "VIEW"
    assert kinds["intermediate.int_orders_enriched"] == "VIEW"
    assert kinds["marts.dim_customers"] == kinds["marts.fct_orders"] == "BASE TABLE"


def test_dim_customers_matches_the_orders_seed(built):
    prices = {row["id"]: Decimal(row["unit_price"]) for row in _seed_rows("raw_products")}
    order_count: dict[int, int] = defaultdict(int)
    lifetime_value: dict[int, Decimal] = defaultdict(Decimal)
    for row in _seed_rows("raw_orders"):
        customer = int(row["customer_id"])
        order_count[customer] += 1
        if row["status"].strip().lower() in REVENUE_STATUSES:
            lifetime_value[customer] += int(row["quantity"]) * prices[row["product_id"]]
    rows = _query(
        built.duckdb_path, "select customer_id, order_count, lifetime_value from marts.dim_customers"
    )
    assert {cid: (count, value) for cid, count, value in rows} == {
        int(row["id"]): (order_count[int(row["id"])], lifetime_value[int(row["id"])])
        for row in _seed_rows("raw_customers")
    }
    emails = [email for (email,) in _query(built.duckdb_path, "select email from marts.dim_customers")]
    assert all(email == email.strip().lower() for email in emails)


def test_unit_and_data_tests_ran_and_passed(built):
    results = json.loads((artifacts_dir(built) / "target" / "run_results.json").read_text())["results"]
    statuses = {result["unique_id"]: result["status"] for result in results}
    unit_tests = [uid for uid in statuses if uid.startswith("unit_test.")]
    data_tests = [uid for uid in statuses if uid.startswith("test.")]
    assert len(unit_tests) >= 2 and len(data_tests) >= 10
    assert {statuses[uid] for uid in unit_tests + data_tests} == {"pass"}


def test_the_contract_on_dim_customers_is_enforced(built, tmp_path):
    project = tmp_path / "dbt"
    # Follow the seeds symlink: the copy must not depend on a sibling seeds/ folder.
    shutil.copytree(REPO_ROOT / "dbt", project, ignore=shutil.ignore_patterns("target", "logs"))
    model = project / "models" / "marts" / "shop" / "dim_customers.sql"
    original = model.read_text()
    broken = original.replace("0) as integer) as order_count", "0) as varchar) as order_count")
    assert broken != original
    model.write_text(broken)
    settings = _duckdb_settings(tmp_path, project)
    settings.duckdb_path.parent.mkdir(parents=True)
    shutil.copy(built.duckdb_path, settings.duckdb_path)

    result = run_dbt(settings, ["run", "--select", "dim_customers"], dbt_executable(), check=False)

    assert result.returncode != 0
    assert "enforced contract" in result.output and "order_count" in result.output


def test_a_bring_your_own_project_builds_with_the_sandbox_profile(tmp_path, monkeypatch):
    # A project without `flags:` would otherwise try to send usage stats and write .user.yml into dbt/.
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    settings = _duckdb_settings(tmp_path, BYO_PROJECT)

    run_dbt(settings, ["build"], dbt_executable())

    rentals = sum(1 for _ in (BYO_PROJECT / "raw_data" / "rentals.csv").open()) - 1
    assert _query(settings.duckdb_path, "select sum(rentals_started) from station_usage")[0][0] == rentals
    results = json.loads((artifacts_dir(settings) / "target" / "run_results.json").read_text())["results"]
    assert {r["unique_id"].split(".")[0] for r in results} == {"seed", "model", "test"}
    assert not (BYO_PROJECT / "target").exists() and not (BYO_PROJECT / "logs").exists()
