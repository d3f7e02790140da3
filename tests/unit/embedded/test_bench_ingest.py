"""make bench-ingest's report of the two warehouses side by side."""

from __future__ import annotations

from de_sandbox.embedded.bench_ingest import PHASES, ratio_report, run_total


def _run(seconds: float) -> dict:
    return {phase: {"seconds": seconds / len(PHASES)} for phase in PHASES}


def test_the_ratio_is_postgres_total_over_duckdb_total_run_by_run():
    duckdb = {"runs": [_run(40.0), _run(36.0)]}
    postgres = {"runs": [_run(66.0), _run(90.0)]}

    lines = ratio_report(duckdb, postgres).splitlines()

    assert run_total(postgres["runs"][1]) == 90.0
    assert lines[1].split() == ["1", "40.00", "66.00", "1.65"]
    assert lines[2].split() == ["2", "36.00", "90.00", "2.50"]
