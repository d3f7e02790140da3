"""The run command's input handling: logical dates in every form users type, and clear errors otherwise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from de_sandbox.embedded.runner import RunError, parse_logical_date, run_dag


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T05", datetime(2026, 1, 1, 5, tzinfo=UTC)),
        ("2026-01-01 05:00", datetime(2026, 1, 1, 5, tzinfo=UTC)),
        ("2026-01-01T05:00:00Z", datetime(2026, 1, 1, 5, tzinfo=UTC)),
        ("2026-01-01T07:00:00+02:00", datetime(2026, 1, 1, 5, tzinfo=UTC)),
    ],
)
def test_logical_dates_in_common_forms(text, expected):
    assert parse_logical_date(text) == expected


def test_no_date_means_now():
    assert parse_logical_date(None) is None
    assert parse_logical_date("") is None


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "01/02/2026"])
def test_bad_dates_are_refused_with_examples(text):
    with pytest.raises(RunError, match="is not a date: use e.g. 2026-01-01"):
        parse_logical_date(text)


def test_unknown_dag_lists_the_known_ones():
    with pytest.raises(RunError, match=r"no DAG 'nope'.*example_pipeline"):
        run_dag("nope")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WAREHOUSE": "oracle"}, "WAREHOUSE='oracle' is not supported"),
        ({"DBT_PROJECT_DIR": "/nonexistent-project"}, "no dbt project at /nonexistent-project"),
    ],
)
def test_bad_settings_end_in_one_clear_line(monkeypatch, capsys, env, message):
    from de_sandbox.embedded.commands import run_and_report

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert run_and_report("example_pipeline", None) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
