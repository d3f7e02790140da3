"""make bench-ingest's report of the two warehouses side by side."""

from __future__ import annotations

from de_sandbox.embedded.bench_ingest import PHASES, ratio_report, report, run_total


def _run(seconds: float) -> dict:
    return {phase: {"seconds": seconds / len(PHASES)} for phase in PHASES}


def test_the_ratio_is_postgres_total_over_duckdb_total_run_by_run():
    duckdb = {"runs": [_run(40.0), _run(36.0)]}
    postgres = {"runs": [_run(66.0), _run(90.0)]}

    lines = ratio_report(duckdb, postgres).splitlines()

    assert run_total(postgres["runs"][1]) == 90.0
    assert lines[1].split() == ["1", "40.00", "66.00", "1.65"]
    assert lines[2].split() == ["2", "36.00", "90.00", "2.50"]


def test_each_run_s_load_is_compared_with_the_floor_measured_before_it():
    def measured(seconds: float) -> dict:
        return {"seconds": seconds, "wall_seconds": seconds + 0.3, "peak_rss_mb": 100.0, "statement_seconds": 1.0, "result": None}

    runs = []
    for floor, load in ((2.5, 5.0), (4.0, 6.0)):
        run = {phase: measured(1.0) for phase in PHASES}
        run.update(floor=measured(floor), load=measured(load))
        runs.append(run)
    figures = {"rows": 6_000_000, "expected_bad": 600, "warehouse": "duckdb", "runs": runs}

    lines = {line[:22].strip(): line[22:].split() for line in report(figures).splitlines()[2:]}

    assert lines["run 1 floor"][0] == "2.50"
    assert lines["run 1 load/floor"][0] == "2.00"
    assert lines["run 2 load/floor"][0] == "1.50"
    assert lines["run 2 total"][0] == "11.00"
