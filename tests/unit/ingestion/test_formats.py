"""The generic formats' rules without a warehouse: column types, files without a header, and whole responses
that cannot be used (they fail the load instead of quarantining every record)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from de_sandbox.ingestion.formats import (
    BadValue,
    Column,
    Layout,
    convert,
    parse_delimited,
    parse_json_records,
)
from de_sandbox.ingestion.records import MalformedSourceError

WINDOW = datetime(2026, 1, 1, 1)


@pytest.mark.parametrize(
    "column, value, expected",
    [
        (Column("n", "integer"), " 42 ", 42),
        (Column("n", "bigint"), 2**40, 2**40),
        (Column("x", "double precision"), "1e3", 1000.0),
        (Column("b", "boolean"), "No", False),
        (Column("d", "date"), "2026-01-02", date(2026, 1, 2)),
        (Column("d", "date", time_format="%d.%m.%Y"), "02.01.2026", date(2026, 1, 2)),
        (Column("t", "timestamp"), "2026-01-01T03:00:00+01:00", datetime(2026, 1, 1, 2)),
        (Column("s", "varchar(3)"), "abc", "abc"),
        (Column("s", "varchar"), {"nested": 1}, '{"nested": 1}'),
        (Column("s", "varchar", nullable=True), "  ", None),
    ],
)
def test_values_become_their_column_type(column, value, expected):
    assert convert(column, value) == expected


@pytest.mark.parametrize(
    "column, value, reason",
    [
        (Column("n", "integer"), "4.5", "n: '4.5' is not a valid integer"),
        (Column("n", "integer"), 2**31, "n: 2147483648 is out of range for integer"),
        (Column("n", "integer"), True, "n: True is not a valid integer"),
        (Column("b", "boolean"), "maybe", "b: 'maybe' is not a valid boolean"),
        (Column("s", "varchar(3)"), "abcd", "s is longer than 3 characters: 4"),
        (Column("s", "varchar", field="src"), None, "s is empty (field src)"),
    ],
)
def test_values_that_do_not_fit_name_the_column_and_the_value(column, value, reason):
    with pytest.raises(BadValue) as bad:
        convert(column, value)
    assert str(bad.value) == reason


def test_delimited_without_a_header_reads_fields_in_column_order():
    layout = Layout(
        (Column("a", "integer"), Column("b", "varchar")), ("a",), {"header": False, "delimiter": "|"}
    )
    result = parse_delimited(layout, [("f.txt", b"1|x\n\n2|y\n")], WINDOW)
    assert result.rows == [(WINDOW, 1, "x", "f.txt", 1), (WINDOW, 2, "y", "f.txt", 2)]
    assert result.records_in == 2


def test_a_header_without_a_configured_field_fails_the_file():
    layout = Layout((Column("a", "integer", field="id"),), ("a",))
    with pytest.raises(MalformedSourceError, match=r"f.csv: header has no field\(s\) id \(it has a, b\)"):
        parse_delimited(layout, [("f.csv", b"a,b\n1,2\n")], WINDOW)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"{not json", "r.json: response is not JSON"),
        (b'{"error": "down"}', "r.json: expected a JSON list of records at 'data.items', got NoneType"),
        (
            b'{"data": {"items": {"a": 1}}}',
            "r.json: expected a JSON list of records at 'data.items', got dict",
        ),
    ],
)
def test_json_responses_of_the_wrong_shape_fail_the_load(body, message):
    layout = Layout((Column("a", "integer"),), ("a",), {"records_path": "data.items"})
    with pytest.raises(MalformedSourceError, match=message):
        parse_json_records(layout, [("r.json", body)], WINDOW)
