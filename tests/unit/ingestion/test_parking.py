"""Parsing parking API responses: recorded samples, error responses and bad records with their reasons."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from de_sandbox.ingestion import parking
from de_sandbox.ingestion.records import MalformedSourceError
from de_sandbox.ingestion.sources import configured_location

WINDOW = datetime(2026, 1, 1, 5)
RECORD = {
    "Dato": "01.01.2026",
    "Klokkeslett": "06:15",
    "Sted": "Jernbanen",
    "Latitude": "58.966314",
    "Longitude": "5.732613",
    "Antall_ledige_plasser": "120",
}


def parse(records):
    return parking.parse(json.dumps(records).encode(), "r.json", WINDOW)


def test_bundled_responses_for_a_window_are_the_four_quarter_hours():
    found = parking.fetch(configured_location("stavanger_parking"), WINDOW, datetime(2026, 1, 1, 6))
    assert [name for name, _ in found] == [f"parking-20260101T05{m}Z.json" for m in ("00", "15", "30", "45")]
    assert found[0][1] == parking.generate_response(WINDOW)


def test_oslo_local_time_becomes_utc():
    result = parse([RECORD])
    assert result.rows == [
        (WINDOW, datetime(2026, 1, 1, 5, 15), "Jernbanen", 58.966314, 5.732613, 120, "r.json", 1)
    ]


def test_api_error_response_is_a_clear_error():
    with pytest.raises(MalformedSourceError, match="parking API error response: Service Unavailable"):
        parking.parse(b'{"error": "Service Unavailable"}', "r.json", WINDOW)


def test_non_json_and_empty_responses_are_clear_errors():
    with pytest.raises(MalformedSourceError, match="not JSON"):
        parking.parse(b"<html>502 Bad Gateway</html>", "r.json", WINDOW)
    with pytest.raises(MalformedSourceError, match="empty response"):
        parking.parse(b"[]", "r.json", WINDOW)


def test_bad_records_are_quarantined_with_reasons():
    result = parse(
        [
            RECORD,
            {**RECORD, "Antall_ledige_plasser": "full"},
            {**RECORD, "Sted": ""},
            {**RECORD, "Sted": "Posten", "Klokkeslett": "25:99"},
            "not an object",
            RECORD,
        ]
    )
    assert len(result.rows) == 1
    assert [q.reason for q in result.quarantined] == [
        "Antall_ledige_plasser is not a count: 'full'",
        "missing field(s): Sted",
        "unreadable Dato/Klokkeslett: '01.01.2026' '25:99'",
        "record is not a JSON object",
        "duplicate of r.json record 1 (same Sted and time)",
    ]
    assert result.records_in == len(result.rows) + len(result.quarantined)


class _ErrorApi(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server hook name
        self.send_response(503)
        self.end_headers()
        self.wfile.write(b'{"error": "maintenance"}')

    def log_message(self, *args):
        return None


def test_http_error_from_the_live_api_is_a_clear_error():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ErrorApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/parking.json"
        with pytest.raises(MalformedSourceError, match='HTTP 503 {"error": "maintenance"}'):
            parking.fetch(url, WINDOW, datetime(2026, 1, 1, 6), timeout=5)
    finally:
        server.shutdown()
        server.server_close()
