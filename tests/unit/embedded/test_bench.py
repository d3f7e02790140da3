"""`make bench`'s options are validated with one clear line, and BENCH_JSON has exactly the documented shape."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from de_sandbox.embedded.bench import Measurement, parse_modes, report
from de_sandbox.settings import REPO_ROOT, BenchSettings, get_bench_settings


def _bench() -> BenchSettings:
    return BenchSettings(
        project="scale", rows=1_000_000, warehouse="duckdb", modes="", json_path=None, data_dir=REPO_ROOT
    )


def test_bench_json_has_exactly_the_documented_shape():
    document = report(
        _bench(),
        [20.0, 22.0],
        [
            Measurement("local:dbt_runner", 42.0, "success", 512.34),
            Measurement("native:watcher", 23.1, "success", 1800.0),
        ],
    )
    assert set(document) == {"project", "rows", "warehouse", "plain_dbt_build_s", "modes"}
    assert (document["project"], document["rows"], document["warehouse"]) == ("scale", 1_000_000, "duckdb")
    assert document["plain_dbt_build_s"] == 21.0
    assert document["modes"]["local:dbt_runner"] == {"seconds": 42.0, "ratio": 2.0, "peak_rss_mb": 512.3}
    assert document["modes"]["native:watcher"]["ratio"] == 1.1
    for figures in document["modes"].values():
        assert set(figures) == {"seconds", "ratio", "peak_rss_mb"}
        assert all(isinstance(v, float) for v in figures.values())
    assert json.loads(json.dumps(document)) == document


def test_defaults_are_the_example_project_on_duckdb_with_a_million_rows(monkeypatch):
    for name in ("BENCH_PROJECT", "BENCH_ROWS", "BENCH_WAREHOUSE", "BENCH_MODES", "BENCH_JSON"):
        monkeypatch.delenv(name, raising=False)
    bench = get_bench_settings()
    assert (bench.project, bench.rows, bench.warehouse, bench.modes, bench.json_path) == (
        "example",
        1_000_000,
        "duckdb",
        "local:dbt_runner",
        None,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BENCH_PROJECT", "huge", "BENCH_PROJECT='huge' is not supported; choose one of example, scale"),
        (
            "BENCH_WAREHOUSE",
            "oracle",
            "BENCH_WAREHOUSE='oracle' is not supported; choose one of duckdb, postgres",
        ),
        ("BENCH_ROWS", "lots", "BENCH_ROWS='lots' is not a whole number of at least 1,000 (e.g. 1000000)"),
        ("BENCH_ROWS", "-5", "BENCH_ROWS='-5' is not a whole number of at least 1,000 (e.g. 1000000)"),
        ("BENCH_ROWS", "1.5e6", "BENCH_ROWS='1.5e6' is not a whole number of at least 1,000 (e.g. 1000000)"),
    ],
)
def test_a_bad_option_names_the_variable(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError) as raised:
        get_bench_settings()
    assert str(raised.value) == message


def test_rows_accept_separators(monkeypatch):
    monkeypatch.setenv("BENCH_ROWS", "10_000_000")
    assert get_bench_settings().rows == 10_000_000
    monkeypatch.setenv("BENCH_ROWS", "10,000")
    assert get_bench_settings().rows == 10_000


def test_mode_shorthands_and_unknown_modes():
    assert parse_modes("native") == ["native:preload", "native:plain", "native:watcher"]
    assert parse_modes("all")[:2] == ["local:dbt_runner", "local:subprocess"]
    assert "native:watcher" in parse_modes("all")
    assert parse_modes(" local:dbt_runner, native:watcher ") == ["local:dbt_runner", "native:watcher"]
    with pytest.raises(
        ValueError, match=r"^BENCH_MODES='watcher': watcher unknown; choose from all, native, "
    ):
        parse_modes("watcher")


def test_make_bench_with_a_bad_project_fails_with_one_line():
    env = {"BENCH_PROJECT": "nope", "PATH": "/usr/bin:/bin", "DE_SANDBOX_ENV_FILE": "/nonexistent"}
    proc = subprocess.run(
        [sys.executable, "-m", "de_sandbox.cli", "bench"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "[bench] BENCH_PROJECT='nope' is not supported; choose one of example, scale"
    ]
    assert proc.stdout == ""
