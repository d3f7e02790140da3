"""Where a run's time goes: queued and running seconds per task from the REST API's task instances, dbt's SQL
seconds from the run_results each Cosmos task kept, and the gaps with no task running."""

from __future__ import annotations

import json

import pytest

from de_sandbox.embedded.timeline import dbt_seconds, format_timeline, summary, task_rows, task_timings


def ti(task_id, queued, start, end, state="success", try_number=1):
    day = "2026-12-06T10:00:"
    return {
        "task_id": task_id,
        "state": state,
        "try_number": try_number,
        "queued_when": f"{day}{queued:02d}+00:00" if queued is not None else None,
        "start_date": f"{day}{start:02d}+00:00" if start is not None else None,
        "end_date": f"{day}{end:02d}+00:00" if end is not None else None,
    }


@pytest.fixture
def run_results(tmp_path):
    (tmp_path / "dbt.stg_a.run.json").write_text(
        json.dumps({"elapsed_time": 2.0, "results": [{"unique_id": "model.p.stg_a", "execution_time": 1.5}]})
    )
    # No elapsed_time: dbt's time is its nodes' (threads overlap them, so the sum may pass the wall time).
    (tmp_path / "dbt.dbt_producer_watcher.json").write_text(
        json.dumps({"results": [{"execution_time": 2.0}, {"execution_time": 0.25}, {"execution_time": None}]})
    )
    return tmp_path


def test_dbt_seconds_add_up_each_tasks_node_times(run_results, tmp_path):
    assert dbt_seconds(run_results) == {"dbt.stg_a.run": (2.0, 1.5), "dbt.dbt_producer_watcher": (2.25, 2.25)}
    assert dbt_seconds(tmp_path / "missing") == {}


def test_each_task_splits_into_queued_running_and_dbt_sql(run_results):
    timings = task_timings(
        [
            ti("validate", 20, 22, 30),
            ti("dbt.stg_a.run", 0, 3, 8, try_number=2),
            ti("never_ran", None, None, None, state="upstream_failed"),
            ti("dbt.dbt_producer_watcher", None, 9, 12),
        ],
        dbt_seconds(run_results),
    )
    assert [t.task_id for t in timings] == ["dbt.stg_a.run", "dbt.dbt_producer_watcher", "validate"]
    stg, producer, validate = timings
    assert (stg.queued_s, stg.running_s, stg.dbt_s, stg.sql_s, stg.overhead_s, stg.tries) == (
        3.0,
        5.0,
        2.0,
        1.5,
        3.0,
        2,
    )
    assert (producer.queued_s, producer.dbt_s, producer.overhead_s) == (0.0, 2.25, 0.75)
    assert (validate.queued_s, validate.dbt_s, validate.sql_s, validate.overhead_s) == (2.0, None, None, None)

    totals = summary(timings)
    # Busy 3-8, 9-12, 22-30: idle 1 s + 10 s between the first start and the last end (27 s).
    assert totals == {
        "tasks": 3,
        "queued_s": 5.0,
        "running_s": 16.0,
        "dbt_s": 4.2,
        "dbt_sql_s": 3.8,
        "dbt_task_start_up_s": 3.8,
        "idle_s": 11.0,
        "first_start_to_last_end_s": 27.0,
    }
    text = format_timeline(timings, slowest=2)
    assert "no task running for 11.0 s" in text
    assert "validate" in text and "dbt.dbt_producer_watcher" not in text  # only the 2 slowest
    # BENCH_JSON's timeline: seconds from the first start, in start order.
    assert [(r["task_id"], r["start_s"], r["end_s"], r["dbt_s"]) for r in task_rows(timings)] == [
        ("dbt.stg_a.run", 0.0, 5.0, 2.0),
        ("dbt.dbt_producer_watcher", 6.0, 9.0, 2.25),
        ("validate", 19.0, 27.0, None),
    ]
    assert task_rows([]) == []


def test_overlapping_tasks_leave_no_idle_time():
    timings = task_timings([ti("a", 0, 0, 10), ti("b", 0, 2, 5), ti("c", 0, 9, 12)], {})
    assert summary(timings)["idle_s"] == 0.0
    assert summary([])["tasks"] == 0
