"""The scale bench project builds green with a plain `dbt build` on DuckDB over 10,000 generated order lines, and its
generated data is the same on every generation."""

from __future__ import annotations

import dataclasses
from contextlib import closing

import duckdb
import pytest

from de_sandbox.embedded.bench import BenchProject, plain_dbt_build
from de_sandbox.embedded.scale_data import TABLES, ensure_generated
from de_sandbox.settings import SCALE_BENCH_PROJECT_DIR, BenchSettings, get_settings

pytestmark = pytest.mark.integration

ROWS = 10_000


@pytest.fixture
def scale_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DBT_PROJECT_DIR", str(SCALE_BENCH_PROJECT_DIR))
    settings = dataclasses.replace(get_settings(), duckdb_path=tmp_path / "scale.duckdb")
    bench = BenchSettings("scale", ROWS, "duckdb", "", None, tmp_path / "bench")
    return bench, settings


def _checksums(path) -> dict[str, tuple]:
    with closing(duckdb.connect(str(path), read_only=True)) as conn:
        return {t: conn.execute(f"select count(*), sum(hash(t)) from raw.{t} t").fetchone() for t in TABLES}


def test_generated_data_is_deterministic_and_the_fact_has_the_rows_asked_for(tmp_path):
    first, seconds = ensure_generated(tmp_path / "a", 2_000)
    again, _ = ensure_generated(tmp_path / "b", 2_000)
    assert seconds > 0
    assert ensure_generated(tmp_path / "a", 2_000) == (first, 0.0), "a second call must use the cache"
    sums = _checksums(first)
    assert sums == _checksums(again)
    assert sums["bench_order_lines"][0] == 2_000
    assert sums["bench_orders"][0] == 500


def test_the_scale_project_builds_green_with_plain_dbt_on_duckdb(scale_settings):
    bench, settings = scale_settings
    project = BenchProject(bench, settings)
    project.generate()
    result = plain_dbt_build(project, settings, None, None)
    assert result.state == "success"
    with closing(duckdb.connect(str(settings.duckdb_path), read_only=True)) as conn:
        assert conn.execute("select count(*) from marts.fct_order_lines").fetchone()[0] == ROWS
        models = conn.execute(
            "select count(*) from information_schema.tables where table_schema in ('staging', 'intermediate', 'marts')"
        ).fetchone()[0]
    assert models >= 40
