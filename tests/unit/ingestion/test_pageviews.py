"""Parsing pageview dumps: the public format, and each malformed input with its error or quarantine."""

from __future__ import annotations

import gzip
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from de_sandbox.ingestion import pageviews
from de_sandbox.ingestion.records import MalformedSourceError
from de_sandbox.ingestion.sources import configured_location

HOUR = datetime(2026, 1, 1, 5)
LINE = re.compile(r"^\S+ \S+ \d+ \d+$")


def parse_lines(*lines: bytes):
    return pageviews.parse(gzip.compress(b"".join(lines)), "test.gz", HOUR)


def test_names_follow_the_public_dumps():
    assert pageviews.file_name(HOUR) == "pageviews-20260101-050000.gz"
    assert pageviews.relative_path(HOUR) == "2026/2026-01/pageviews-20260101-050000.gz"
    assert pageviews.object_key(HOUR) == (
        "wikipedia_pageviews/year=2026/month=01/day=01/hour=05/pageviews-20260101-050000.gz"
    )


def test_bundled_samples_cover_new_years_day_in_the_public_format():
    bundled = Path(configured_location("wikipedia_pageviews"))
    for offset in range(24):
        hour = datetime(2026, 1, 1) + timedelta(hours=offset)
        data = (bundled / pageviews.relative_path(hour)).read_bytes()
        assert data == pageviews.generate_hour(hour), "bundled sample differs from its generator"
        lines = gzip.decompress(data).decode("utf-8").splitlines()
        assert len(lines) == pageviews.SAMPLE_LINES_PER_HOUR
        assert all(LINE.match(line) for line in lines)


def test_good_lines_load_with_their_line_numbers():
    result = parse_lines(b"en Main_Page 42 0\n", "de Zürich 7 0\n".encode())
    assert result.records_in == 2 and not result.quarantined
    assert result.rows[1] == (HOUR, "de", "Zürich", 7, 0, "test.gz", 2)


def test_truncated_gzip_is_a_clear_error():
    data = gzip.compress(b"en Main_Page 42 0\n" * 200)
    with pytest.raises(MalformedSourceError, match="truncated gzip"):
        pageviews.parse(data[: len(data) // 2], "cut.gz", HOUR)


def test_a_file_that_is_not_gzip_is_a_clear_error():
    with pytest.raises(MalformedSourceError, match="not a valid gzip"):
        pageviews.parse(b"en Main_Page 42 0\n", "plain.gz", HOUR)


def test_empty_file_is_a_clear_error():
    with pytest.raises(MalformedSourceError, match="empty file"):
        pageviews.parse(gzip.compress(b""), "empty.gz", HOUR)


def test_wrong_column_count_is_quarantined_with_reason():
    result = parse_lines(b"en Main_Page 42 0\n", b"en Two_Fields\n", b"en A B 1 0\n")
    assert [q.record_no for q in result.quarantined] == [2, 3]
    assert result.quarantined[0].reason.startswith("expected 4 space-separated fields")
    assert "got 2" in result.quarantined[0].reason and "got 5" in result.quarantined[1].reason


def test_non_utf8_bytes_are_quarantined_escaped():
    result = parse_lines(b"en Main_Page 42 0\n", b"en Bad\xff\xfeTitle 3 0\n")
    (bad,) = result.quarantined
    assert bad.reason == "non-UTF-8 bytes at byte 6"
    assert bad.raw_record == "en Bad\\xff\\xfeTitle 3 0"


def test_nul_bytes_are_quarantined_with_the_nul_written_out():
    """PostgreSQL text cannot hold NUL: such a line is quarantined on both warehouses alike, and the stored raw
    text (a non-UTF-8 line's too) spells it `\\x00`."""
    result = parse_lines(b"en A 1 0\n", b"en B\x00x 2 0\n", b"\x00\n", b"fr \xff\x00 1 0\n")
    assert [(q.record_no, q.raw_record, q.reason) for q in result.quarantined] == [
        (2, "en B\\x00x 2 0", "NUL byte at byte 4 (text the raw table cannot hold)"),
        (3, "\\x00", "NUL byte at byte 0 (text the raw table cannot hold)"),
        (4, "fr \\xff\\x00 1 0", "non-UTF-8 bytes at byte 3"),
    ]
    assert [r[6] for r in result.rows] == [1]


def test_duplicate_rows_are_quarantined_pointing_at_the_first():
    result = parse_lines(b"en Main_Page 42 0\n", b"de Oslo 1 0\n", b"en Main_Page 42 0\n")
    (duplicate,) = result.quarantined
    assert duplicate.record_no == 3
    assert duplicate.reason == "duplicate of record 1 (same domain_code and page_title)"


def test_duplicates_in_later_blocks_are_judged_on_the_key_and_keep_their_raw_text(monkeypatch):
    """Good rows reach the raw table block by block; a later row of a key, in its block or a later one, is held
    back and quarantined with its own text (leading zeros, carriage return), never loaded."""
    from de_sandbox.ingestion import bulk

    monkeypatch.setattr(bulk, "BLOCK_BYTES", 40)
    monkeypatch.setattr(bulk, "READ_BYTES", 16)
    lines = [b"en A 1 0\n", b"de B 2 0\n", b"fr C 3 0\n", b"en A 007 0\n", b"de B 5 0\r\n", b"en A 9 0\n"]
    lines += [f"ja P{n} {n} 0\n".encode() for n in range(20)] + [b"fr C 4 0\n"]
    result = parse_lines(*lines)
    assert [(q.record_no, q.raw_record, q.reason) for q in result.quarantined] == [
        (4, "en A 007 0", "duplicate of record 1 (same domain_code and page_title)"),
        (5, "de B 5 0\r", "duplicate of record 2 (same domain_code and page_title)"),
        (6, "en A 9 0", "duplicate of record 1 (same domain_code and page_title)"),
        (27, "fr C 4 0", "duplicate of record 3 (same domain_code and page_title)"),
    ]
    assert [r[6] for r in result.rows] == [1, 2, 3, *range(7, 27)]
    assert result.records_in == len(result.rows) + len(result.quarantined)


def test_a_key_repeated_in_one_block_stays_held_in_later_blocks(monkeypatch):
    """Both rows of a key repeated within a block are held back: a row of that key in a later block is held too
    and judged against the first, never loaded beside it."""
    from de_sandbox.ingestion import bulk

    monkeypatch.setattr(bulk, "BLOCK_BYTES", 40)
    monkeypatch.setattr(bulk, "READ_BYTES", 16)
    lines = (
        [b"en A 1 0\n", b"en A 2 0\n"] + [f"ja P{n} {n} 0\n".encode() for n in range(20)] + [b"en A 3 0\n"]
    )
    result = parse_lines(*lines)
    assert [(q.record_no, q.raw_record, q.reason) for q in result.quarantined] == [
        (2, "en A 2 0", "duplicate of record 1 (same domain_code and page_title)"),
        (23, "en A 3 0", "duplicate of record 1 (same domain_code and page_title)"),
    ]
    assert [r[6] for r in result.rows] == [1, *range(3, 23)]


def test_non_numeric_counts_are_quarantined():
    result = parse_lines(b"en Main_Page many 0\n", b"en Oslo 3 -1\n")
    assert [q.reason for q in result.quarantined] == [
        "count_views is not an integer: 'many'",
        "total_response_size is not an integer: '-1'",
    ]


def test_every_input_line_is_loaded_or_quarantined():
    lines = [b"en A 1 0\n", b"\n", b"en A 1 0\n", b"x y\n", b"fr \xc3 2 0\n", b"ja B 3 0\n"]
    result = parse_lines(*lines)
    assert result.records_in == len(lines)
    assert len(result.rows) + len(result.quarantined) == result.records_in


@pytest.fixture
def dumps_site():
    """The bundled samples served over HTTP in the public dumps' layout, on a free loopback port."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            return None

    handler = functools.partial(QuietHandler, directory=str(Path(configured_location("wikipedia_pageviews"))))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_over_http_from_a_dumps_site(dumps_site):
    assert pageviews.fetch(dumps_site, HOUR, timeout=5) == pageviews.generate_hour(HOUR)
    with pytest.raises(MalformedSourceError, match="pageviews-20250101-050000.gz: HTTP 404"):
        pageviews.fetch(dumps_site, datetime(2025, 1, 1, 5), timeout=5)


def test_quarantine_matches_the_per_line_rules_it_replaced():
    """The corpus holds every kind of bad line; the expected table was captured from the per-line parser."""
    import json

    fixtures = Path(__file__).parent / "fixtures"
    expected = json.loads((fixtures / "pageviews_parity_expected.json").read_text())
    result = pageviews.parse((fixtures / "pageviews_parity.txt.gz").read_bytes(), "parity.gz", HOUR)

    assert result.records_in == expected["records_in"]
    assert [[q.record_no, q.reason, q.raw_record] for q in result.quarantined] == expected["quarantined"]
    assert [[r[1], r[2], r[3], r[4], r[6]] for r in result.rows] == expected["loaded"]
    assert all(r[0] == HOUR and r[5] == "parity.gz" for r in result.rows)
