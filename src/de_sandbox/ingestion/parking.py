"""Stavanger parking-house occupancy: snapshots from the city's open-data REST API (a JSON list of records
with `Dato`, `Klokkeslett` in Oslo time, `Sted`, `Latitude`, `Longitude`, `Antall_ledige_plasser`).

The source is the API's http(s) URL (one current snapshot per call) or a directory of recorded responses named
`parking-YYYYMMDDTHHMMZ.json` (UTC), of which a run takes those inside its window.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from de_sandbox.ingestion import fetch as source_fetch
from de_sandbox.ingestion.records import MalformedSourceError, ParseResult

PIPELINE = "stavanger_parking"
REQUIRED_FIELDS = ("Dato", "Klokkeslett", "Sted", "Antall_ledige_plasser")
OSLO = ZoneInfo("Europe/Oslo")
SNAPSHOT_FORMAT = "parking-%Y%m%dT%H%MZ.json"


def response_name(taken_at: datetime) -> str:
    return f"{taken_at:parking-%Y%m%dT%H%MZ.json}"


def object_key(window_start: datetime, name: str) -> str:
    """Partitioned landing key in the raw bucket."""
    return source_fetch.object_key(PIPELINE, window_start, name)


def fetch(source: str, window_start: datetime, window_end: datetime, timeout: float = 60.0) -> list[tuple]:
    """(name, body) of each response for the window: one live call, or the recorded ones inside the window."""
    return source_fetch.call_or_recorded(source, SNAPSHOT_FORMAT, window_start, window_end, timeout)


def _snapshot_time(record: dict) -> datetime:
    local = datetime.strptime(f"{record['Dato']} {record['Klokkeslett']}", "%d.%m.%Y %H:%M")
    return local.replace(tzinfo=OSLO).astimezone(UTC).replace(tzinfo=None)


def _coordinate(value: object) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def parse(body: bytes, source_file: str, window_start: datetime, seen: dict | None = None) -> ParseResult:
    """Parse one API response; bad records are quarantined with a reason, an error response raises.

    `seen` carries (house, snapshot time) -> record across the responses of one window to catch duplicates.
    """
    seen = {} if seen is None else seen
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MalformedSourceError(f"{source_file}: response is not JSON ({error})") from error
    if isinstance(payload, dict) and (message := payload.get("error") or payload.get("message")):
        raise MalformedSourceError(f"{source_file}: parking API error response: {message}")
    if not isinstance(payload, list):
        raise MalformedSourceError(
            f"{source_file}: expected a JSON list of records, got {type(payload).__name__}"
        )
    if not payload:
        raise MalformedSourceError(f"{source_file}: empty response, no parking records")
    result = ParseResult(records_in=len(payload))
    for record_no, record in enumerate(payload, start=1):
        raw = json.dumps(record, ensure_ascii=False)
        if not isinstance(record, dict):
            result.quarantine(source_file, record_no, raw, "record is not a JSON object")
            continue
        missing = [name for name in REQUIRED_FIELDS if record.get(name) in (None, "")]
        if missing:
            result.quarantine(source_file, record_no, raw, f"missing field(s): {', '.join(missing)}")
            continue
        free_text = str(record["Antall_ledige_plasser"]).strip()
        if not free_text.isdigit():
            result.quarantine(
                source_file, record_no, raw, f"Antall_ledige_plasser is not a count: {free_text!r}"
            )
            continue
        try:
            snapshot_at = _snapshot_time(record)
        except ValueError:
            reason = f"unreadable Dato/Klokkeslett: {record['Dato']!r} {record['Klokkeslett']!r}"
            result.quarantine(source_file, record_no, raw, reason)
            continue
        key = (str(record["Sted"]).strip(), snapshot_at)
        if key in seen:
            result.quarantine(source_file, record_no, raw, f"duplicate of {seen[key]} (same Sted and time)")
            continue
        seen[key] = f"{source_file} record {record_no}"
        result.rows.append(
            (
                window_start,
                snapshot_at,
                key[0],
                _coordinate(record.get("Latitude")),
                _coordinate(record.get("Longitude")),
                int(free_text),
                source_file,
                record_no,
            )
        )
    return result


SAMPLE_HOUSES = {
    "Jernbanen": (58.966314, 5.732613, 340),
    "Jorenholmen": (58.972064, 5.734716, 330),
    "Kyrkjegata": (58.969376, 5.731029, 171),
    "Posten": (58.968561, 5.735231, 250),
    "Siddis": (58.965236, 5.726989, 400),
    "St. Olav": (58.967497, 5.739227, 220),
    "Kiellandshuset": (58.971155, 5.728532, 160),
    "Løkkeveien": (58.974431, 5.722043, 180),
}
SAMPLE_INTERVAL = timedelta(minutes=15)


def generate_response(taken_at: datetime) -> bytes:
    """A deterministic recorded response at `taken_at` (naive UTC), shaped like the live API's."""
    rng = random.Random(f"{PIPELINE}-{taken_at:%Y%m%d%H%M}")
    local = taken_at.replace(tzinfo=UTC).astimezone(OSLO)
    # Occupancy peaks in the afternoon; noise keeps snapshots within an hour apart.
    busy = max(0.05, 1 - abs(local.hour + local.minute / 60 - 15) / 10)
    records = []
    for house, (latitude, longitude, capacity) in SAMPLE_HOUSES.items():
        occupied = min(capacity, int(capacity * busy * rng.uniform(0.7, 1.0)))
        records.append(
            {
                "Dato": f"{local:%d.%m.%Y}",
                "Klokkeslett": f"{local:%H:%M}",
                "Sted": house,
                "Latitude": f"{latitude:.6f}",
                "Longitude": f"{longitude:.6f}",
                "Antall_ledige_plasser": str(capacity - occupied),
            }
        )
    return (json.dumps(records, ensure_ascii=False) + "\n").encode("utf-8")


def write_samples(directory: Path, first: datetime, hours: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    taken_at = first
    while taken_at < first + timedelta(hours=hours):
        path = directory / response_name(taken_at)
        path.write_bytes(generate_response(taken_at))
        written.append(path)
        taken_at += SAMPLE_INTERVAL
    return written
