"""Bad input, case by case, through the real extract and load phases on DuckDB and a real S3 server: each case
ends in one clear error naming the file or URL and what is wrong, or in quarantine with a reason; never in a
half-loaded window, and always source = loaded + quarantined."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from de_sandbox.ingestion import ledger, pageviews, parking
from de_sandbox.ingestion.phases import extract, load
from de_sandbox.ingestion.records import MalformedSourceError
from de_sandbox.ingestion.sources import pipeline
from de_sandbox.native.processes import free_port
from de_sandbox.warehouse import connect

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

PAGEVIEWS = pipeline("wikipedia_pageviews")
PARKING = pipeline("stavanger_parking")
HOUR = datetime(2026, 1, 1, 5)
NEXT = HOUR + timedelta(hours=1)
GOOD = b"en Main_Page 10 100\nde Berlin 3 30\n"


class Responder(http.server.BaseHTTPRequestHandler):
    """Answers every GET as the test says: (status, content type, body, delay in seconds)."""

    answer: tuple[int, str, bytes, float] = (200, "application/json", b"[]", 0.0)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        status, content_type, body, delay = self.server.answer  # type: ignore[attr-defined]
        time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_source():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Responder)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def answer(status: int, body: bytes, content_type: str = "application/json", delay: float = 0.0) -> str:
        server.answer = (status, content_type, body, delay)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield answer
    server.shutdown()
    server.server_close()


def _pageview_file(directory: Path, body: bytes) -> None:
    path = directory / pageviews.relative_path(HOUR)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


def _raw_rows(table: str) -> int:
    with connect() as connection:
        if not connection.table_exists(*table.split(".")):
            return 0
        return int(connection.scalar(f"select count(*) from {table} where window_start = ?", (HOUR,)))


def _run(spec, pipeline_hours: tuple[datetime, datetime] = (HOUR, NEXT)):
    start, end = pipeline_hours
    keys = extract(spec, start, end, "corpus")
    return load(spec, start, end, keys, "corpus")


def _assert_failed_cleanly(spec, error: Exception, *must_name: str) -> None:
    message = str(error).splitlines()[0]
    for part in must_name:
        assert part in message, f"{part!r} not in {message!r}"
    assert _raw_rows(spec.raw_table) == 0, "nothing half-loaded"
    last = ledger.rows(spec.name, HOUR)[-1]
    assert last["status"] == "failed" and message[:100] in last["error"]


def _assert_quarantined(counts: dict, spec, reason: str, quarantined: int = 1) -> None:
    assert counts["source"] == counts["stage"] + counts["quarantined"]
    assert counts["quarantined"] == quarantined
    assert _raw_rows(spec.raw_table) == counts["stage"]
    with connect() as connection:
        reasons = [
            r
            for (r,) in connection.execute(
                "select reason from ops.quarantine where pipeline = ?", (spec.name,)
            )
        ]
    assert any(reason in r for r in reasons), reasons


# --- wikipedia_pageviews, files
@pytest.mark.parametrize(
    ("case", "body", "named"),
    [
        ("truncated gzip", gzip.compress(GOOD * 50)[:-20], "truncated"),
        ("empty file", b"", "empty"),
        ("not gzip", b"this is not gzip\n", "gzip"),
    ],
)
def test_pageview_files_that_cannot_be_read_fail_naming_the_file(ingestion_env, case, body, named):
    _pageview_file(Path(ingestion_env["PAGEVIEWS_SOURCE"]), body)
    with pytest.raises(MalformedSourceError) as failure:
        _run(PAGEVIEWS)
    _assert_failed_cleanly(PAGEVIEWS, failure.value, pageviews.file_name(HOUR), named)


@pytest.mark.parametrize(
    ("case", "line", "reason"),
    [
        ("wrong field count", b"en Only_Three 5\n", "fields"),
        ("non-UTF-8 bytes", b"en Caf\xe9 5 50\n", "UTF-8"),
        ("NUL byte", b"en Nul\x00Title 5 50\n", "NUL byte at byte 6"),
        ("negative count", b"en Minus -5 50\n", "count_views"),
        ("non-numeric count", b"en Words many 50\n", "count_views"),
        ("duplicate key", b"en Main_Page 7 70\n", "duplicate"),
    ],
)
def test_pageview_lines_that_are_wrong_are_quarantined_with_a_reason(ingestion_env, case, line, reason):
    _pageview_file(Path(ingestion_env["PAGEVIEWS_SOURCE"]), gzip.compress(GOOD + line))
    _assert_quarantined(_run(PAGEVIEWS), PAGEVIEWS, reason)


def test_a_one_megabyte_line_is_quarantined_not_loaded_or_fatal(ingestion_env):
    huge = b"en " + b"x" * (1 << 20) + b" 5 50\n"
    _pageview_file(Path(ingestion_env["PAGEVIEWS_SOURCE"]), gzip.compress(GOOD + huge))
    counts = _run(PAGEVIEWS)
    _assert_quarantined(counts, PAGEVIEWS, "longer than the raw table allows")
    with connect() as connection:
        (raw,) = connection.execute(
            "select raw_record from ops.quarantine where pipeline = ?", (pageviews.PIPELINE,)
        )
    assert len(raw[0]) <= 4000, "the raw text kept in quarantine is bounded"


# --- wikipedia_pageviews, HTTP
@pytest.mark.parametrize(("status", "named"), [(404, "HTTP 404"), (500, "HTTP 500")])
def test_pageview_http_errors_fail_naming_the_url(ingestion_env, http_source, monkeypatch, status, named):
    monkeypatch.setenv("PAGEVIEWS_SOURCE", http_source(status, b"oops", "text/plain"))
    with pytest.raises(MalformedSourceError) as failure:
        _run(PAGEVIEWS)
    _assert_failed_cleanly(PAGEVIEWS, failure.value, pageviews.file_name(HOUR), named)


def test_a_pageview_source_that_times_out_fails_naming_the_url(ingestion_env, http_source, monkeypatch):
    monkeypatch.setenv("PAGEVIEWS_SOURCE", http_source(200, b"late", delay=3))
    monkeypatch.setenv("INGESTION_HTTP_TIMEOUT_SECONDS", "1")
    with pytest.raises(MalformedSourceError) as failure:
        _run(PAGEVIEWS)
    _assert_failed_cleanly(PAGEVIEWS, failure.value, pageviews.file_name(HOUR), "no answer within 1 s")


# --- stavanger_parking, HTTP
RECORD = {"Dato": "01.01.2026", "Klokkeslett": "06:15", "Sted": "Kyrkjebakken", "Latitude": "58.9",
          "Longitude": "5.7", "Antall_ledige_plasser": "42"}  # fmt: skip


def _parking(ingestion_env, http_source, monkeypatch, body: bytes, content_type: str = "application/json"):
    monkeypatch.setenv("STAVANGER_PARKING_URL", http_source(200, body, content_type))
    now = datetime.utcnow().replace(minute=0, second=0, microsecond=0)
    return now, now + timedelta(hours=1)


def test_parking_html_instead_of_json_fails_naming_the_response(ingestion_env, http_source, monkeypatch):
    window = _parking(
        ingestion_env, http_source, monkeypatch, b"<html><body>Maintenance</body></html>", "text/html"
    )
    with pytest.raises(MalformedSourceError, match="response is not JSON"):
        _run(PARKING, window)


def test_parking_json_of_the_wrong_shape_fails(ingestion_env, http_source, monkeypatch):
    window = _parking(ingestion_env, http_source, monkeypatch, json.dumps({"records": [RECORD]}).encode())
    with pytest.raises(MalformedSourceError, match="expected a JSON list of records, got dict"):
        _run(PARKING, window)


@pytest.mark.parametrize(
    ("case", "record", "reason"),
    [
        ("missing field", {k: v for k, v in RECORD.items() if k != "Sted"}, "Sted"),
        ("wrong type", {**RECORD, "Antall_ledige_plasser": "many"}, "Antall_ledige_plasser"),
    ],
)
def test_parking_records_that_are_wrong_are_quarantined(
    ingestion_env, http_source, monkeypatch, case, record, reason
):
    window = _parking(ingestion_env, http_source, monkeypatch, json.dumps([RECORD, record]).encode())
    counts = _run(PARKING, window)
    assert counts["source"] == counts["stage"] + counts["quarantined"] and counts["quarantined"] == 1
    with connect() as connection:
        reasons = [
            r
            for (r,) in connection.execute(
                "select reason from ops.quarantine where pipeline = ?", (parking.PIPELINE,)
            )
        ]
    assert any(reason in r for r in reasons), reasons


def test_a_new_unexpected_parking_field_is_loaded_and_the_rest_still_checked(
    ingestion_env, http_source, monkeypatch
):
    window = _parking(
        ingestion_env, http_source, monkeypatch, json.dumps([{**RECORD, "Kapasitet": "300"}]).encode()
    )
    counts = _run(PARKING, window)
    assert (counts["source"], counts["stage"], counts["quarantined"]) == (1, 1, 0)


def test_parking_http_500_fails_naming_the_url(ingestion_env, http_source, monkeypatch):
    monkeypatch.setenv("STAVANGER_PARKING_URL", http_source(500, b'{"error": "boom"}'))
    with pytest.raises(MalformedSourceError, match=r"http://127\.0\.0\.1:\d+: HTTP 500"):
        _run(PARKING, (datetime(2026, 1, 1, 6), datetime(2026, 1, 1, 7)))
