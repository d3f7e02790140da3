"""make bench-ingest's report of the two warehouses side by side."""

from __future__ import annotations

import argparse

import pytest

from de_sandbox.embedded.bench_ingest import (
    PHASES,
    _between,
    _sizes,
    ratio_report,
    report,
    run_total,
    scale_report,
)


def _run(seconds: float) -> dict:
    return {phase: {"seconds": seconds / len(PHASES)} for phase in PHASES}


def test_the_ratio_is_postgres_total_over_duckdb_total_run_by_run():
    duckdb = {"rows": 6_000_000, "runs": [_run(40.0), _run(36.0)]}
    postgres = {"rows": 6_000_000, "runs": [_run(66.0), _run(90.0)]}

    lines = ratio_report(duckdb, postgres).splitlines()

    assert run_total(postgres["runs"][1]) == 90.0
    assert lines[0] == "6,000,000 lines"
    assert lines[2].split() == ["1", "40.00", "66.00", "1.65"]
    assert lines[3].split() == ["2", "36.00", "90.00", "2.50"]


def test_the_scale_ratio_is_the_larger_hour_over_the_smaller_run_by_run():
    small = {"rows": 1_000_000, "warehouse": "duckdb", "runs": [_run(12.0), _run(10.0)]}
    large = {"rows": 6_000_000, "warehouse": "duckdb", "runs": [_run(30.0), _run(30.0)]}

    lines = scale_report(small, large).splitlines()

    assert lines[0] == "6,000,000 / 1,000,000 lines on duckdb"
    assert lines[2].split() == ["1", "12.00", "30.00", "2.50", "2.50"]
    assert lines[3].split() == ["2", "10.00", "30.00", "3.00", "3.00"]


def test_sizes_are_positive_increasing_line_counts():
    assert _sizes("6000000") == (6_000_000,)
    assert _sizes("1_000_000,6000000") == (1_000_000, 6_000_000)
    for bad in ("6e6", "", "6000000,1000000", "0", "5,5"):
        with pytest.raises(argparse.ArgumentTypeError):
            _sizes(bad)


def test_runs_and_hours_are_bounded_whole_numbers():
    hours = _between(1, 24)
    assert hours("3") == 3
    for bad in ("0", "25", "-1", "three", ""):
        with pytest.raises(argparse.ArgumentTypeError, match="from 1 to 24"):
            hours(bad)


def test_each_run_s_load_is_compared_with_the_floor_measured_before_it():
    def measured(seconds: float) -> dict:
        return {
            "seconds": seconds,
            "wall_seconds": seconds + 0.3,
            "peak_rss_mb": 100.0,
            "statement_seconds": 1.0,
            "result": None,
        }

    runs = []
    for floor, load in ((2.5, 5.0), (4.0, 6.0)):
        run = {phase: measured(1.0) for phase in PHASES}
        run.update(hour="2026-02-01T05:00:00", floor=measured(floor), load=measured(load))
        runs.append(run)
    figures = {"rows": 6_000_000, "expected_bad": 600, "warehouse": "duckdb", "runs": runs}

    lines = {line[:22].strip(): line[22:].split() for line in report(figures).splitlines()[2:]}

    assert lines["run 1 floor"][0] == "2.50"
    assert lines["run 1 load/floor"][0] == "2.00"
    assert lines["run 2 load/floor"][0] == "1.50"
    assert lines["run 2 total"][0] == "11.00"
