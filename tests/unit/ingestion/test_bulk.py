"""Bulk staging of line files: exact line numbers across blocks, lines that are not UTF-8 set aside, gzip quirks."""

from __future__ import annotations

import gzip

import pytest

from de_sandbox.ingestion import bulk
from de_sandbox.ingestion.records import MalformedSourceError


def staged_lines(tmp_path, data: bytes) -> tuple[list[tuple[int, str]], list]:
    path = tmp_path / "lines.gz"
    path.write_bytes(data)
    connection = bulk.connect_stage(tmp_path)
    connection.execute("create temp table staged (record_no bigint, line varchar)")
    count, set_aside = bulk.stage_lines(
        connection,
        path,
        "lines.gz",
        "insert into staged select record_no, rtrim(line, chr(10)) from line_block",
    )
    rows = connection.execute("select record_no, line from staged order by record_no").fetchall()
    assert count == len(rows)
    return rows, set_aside


@pytest.mark.parametrize(
    ("body", "lines"),
    [
        (b"a\n", ["a"]),
        (b"a", ["a"]),
        (b"a\n\n", ["a", ""]),
        (b"\n", [""]),
        (b"a\r\nb\r\r\n", ["a\r", "b\r\r"]),
    ],
    ids=["newline-at-end", "no-newline-at-end", "empty-last-line", "one-empty-line", "carriage-returns"],
)
def test_lines_are_the_file_split_on_newlines(tmp_path, body, lines):
    rows, _ = staged_lines(tmp_path, gzip.compress(body))
    assert rows == list(enumerate(lines, start=1))


def test_line_numbers_stay_exact_across_blocks_and_batches(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "BLOCK_BYTES", 64)
    monkeypatch.setattr(bulk, "READ_BYTES", 16)
    monkeypatch.setattr(bulk, "BATCH_ROWS", 3)
    body = "".join(f"line {n} ü\n" for n in range(1, 501)).encode()
    rows, set_aside = staged_lines(tmp_path, gzip.compress(body))
    assert rows == [(n, f"line {n} ü") for n in range(1, 501)] and set_aside == []


def test_lines_that_are_not_utf8_are_set_aside_with_their_first_bad_byte(tmp_path, monkeypatch):
    monkeypatch.setattr(bulk, "BLOCK_BYTES", 32)
    body = b"ok 1\n" * 10 + b"bad \xff\xfe\n" + b"ok 2\n" * 10 + b"\xc3\n" + b"caf\xc3\xa9\n"
    rows, set_aside = staged_lines(tmp_path, gzip.compress(body))
    assert [(q.record_no, q.reason, q.raw_record) for q in set_aside] == [
        (11, "non-UTF-8 bytes at byte 4", "bad \\xff\\xfe"),
        (22, "non-UTF-8 bytes at byte 0", "\\xc3"),
    ]
    assert rows[10] == (11, "") and rows[21] == (22, "") and rows[22] == (23, "café")
    assert len(rows) == 23


def test_a_multi_member_gzip_file_is_read_whole(tmp_path):
    rows, _ = staged_lines(tmp_path, gzip.compress(b"a\nb\n") + gzip.compress(b"c\n"))
    assert rows == [(1, "a"), (2, "b"), (3, "c")]


WHOLE = gzip.compress(b"".join(b"en Page_%d %d 0\n" % (n, n) for n in range(5000)))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (WHOLE[: len(WHOLE) // 2], "truncated gzip stream"),
        (b"plain text\n", "not a valid gzip file"),
        (gzip.compress(b""), "empty file"),
    ],
    ids=["truncated", "not-gzip", "empty"],
)
def test_broken_files_raise(tmp_path, data, message):
    with pytest.raises(MalformedSourceError, match=message):
        staged_lines(tmp_path, data)
