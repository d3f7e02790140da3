"""Deterministic offline sample data for a scaffolded pipeline: every hour of 2026-01-01, as its source delivers
it (a delimited file per hour, or a recorded JSON response per quarter hour)."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta

SAMPLE_DAY = datetime(2026, 1, 1)
CATEGORIES = ("books", "games", "garden", "music", "tools")
STATIONS = ("north", "south", "east", "west", "harbour")
EVENTS_PER_HOUR = 20
RESPONSE_INTERVAL = timedelta(minutes=15)
# File names carry the time they cover (UTC), so a run takes the files inside its window.
CSV_NAME = "%Y%m%dT%H%MZ.csv"
JSON_NAME = "%Y%m%dT%H%MZ.json"


def delimited_files(name: str) -> dict[str, bytes]:
    """One CSV per hour (header `event_id,event_time,category,amount`), keyed by file name."""
    files = {}
    for hour in range(24):
        start = SAMPLE_DAY + timedelta(hours=hour)
        rng = random.Random(f"{name}-{start:%Y%m%d%H}")
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("event_id", "event_time", "category", "amount"))
        for number in range(EVENTS_PER_HOUR):
            moment = start + timedelta(seconds=rng.randrange(3600))
            amount = f"{rng.uniform(1, 250):.2f}"
            writer.writerow(
                (f"e{start:%H}{number:03d}", f"{moment:%Y-%m-%d %H:%M:%S}", rng.choice(CATEGORIES), amount)
            )
        files[f"{name}-{start:{CSV_NAME}}"] = out.getvalue().encode()
    return files


def recorded_responses(name: str) -> dict[str, bytes]:
    """One response per quarter hour (`{"data": [{"station", "measured_at", "value"}, ...]}`), keyed by file name."""
    files = {}
    taken_at = SAMPLE_DAY
    while taken_at < SAMPLE_DAY + timedelta(days=1):
        rng = random.Random(f"{name}-{taken_at:%Y%m%d%H%M}")
        records = [
            {
                "station": station,
                "measured_at": f"{taken_at:%Y-%m-%dT%H:%M:%SZ}",
                "value": round(rng.uniform(-5, 15), 2),
            }
            for station in STATIONS
        ]
        body = json.dumps({"data": records, "count": len(records)}, indent=1) + "\n"
        files[f"{name}-{taken_at:{JSON_NAME}}"] = body.encode()
        taken_at += RESPONSE_INTERVAL
    return files


SAMPLES = {"files": delimited_files, "http-json": recorded_responses}
