"""Wikipedia pageview dumps: hourly gzip files of `domain_code page_title count_views total_response_size`.

The source is the public dumps site (an http(s) base URL laid out as `<base>/YYYY/YYYY-MM/<file>`) or a local
directory in the same layout; the repo bundles deterministic sample hours for offline use.
"""

from __future__ import annotations

import argparse
import gzip
import random
import urllib.error
import urllib.request
import zlib
from datetime import datetime, timedelta
from pathlib import Path

from de_sandbox.ingestion.records import MalformedSourceError, ParseResult
from de_sandbox.ingestion.spec import LandedObject, PipelineSpec, skip_windows_outside_bundled_samples
from de_sandbox.settings import DEFAULT_PAGEVIEWS_SOURCE, REPO_ROOT, IngestionSettings

PIPELINE = "wikipedia_pageviews"
RAW_TABLE = "raw.wikipedia_pageviews"
RAW_COLUMNS = (
    "window_start",
    "domain_code",
    "page_title",
    "count_views",
    "total_response_size",
    "source_file",
    "record_no",
    "loaded_at",
)
RAW_DDL = f"""create table if not exists {RAW_TABLE} (
    window_start timestamp not null,
    domain_code varchar(100) not null,
    page_title varchar(1000) not null,
    count_views bigint not null,
    total_response_size bigint not null,
    source_file varchar(1000) not null,
    record_no integer not null,
    loaded_at timestamp not null
)"""
FIELDS = ("domain_code", "page_title", "count_views", "total_response_size")


def file_name(hour: datetime) -> str:
    return f"pageviews-{hour:%Y%m%d-%H}0000.gz"


def relative_path(hour: datetime) -> str:
    """The public dumps' layout, used by the bundled samples too."""
    return f"{hour:%Y}/{hour:%Y-%m}/{file_name(hour)}"


def object_key(hour: datetime) -> str:
    """Partitioned landing key in the raw bucket."""
    return f"{PIPELINE}/year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/{file_name(hour)}"


def fetch(source: str, hour: datetime, timeout: float = 60.0) -> bytes:
    """The raw bytes of one hour's dump from an http(s) base URL or a local directory."""
    location = f"{source.rstrip('/')}/{relative_path(hour)}"
    if "://" in source and not source.startswith("file://"):
        try:
            with urllib.request.urlopen(location, timeout=timeout) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise MalformedSourceError(f"{location}: HTTP {error.code} {error.reason}") from error
    path = Path(location.removeprefix("file://"))
    if not path.is_file():
        raise FileNotFoundError(f"no pageview dump for {hour:%Y-%m-%d %H}:00 UTC at {path}")
    return path.read_bytes()


def _non_negative_int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def parse(data: bytes, source_file: str, window_start: datetime) -> ParseResult:
    """Parse one gzip dump; bad lines are quarantined with their reason, a broken file raises."""
    try:
        text = gzip.decompress(data)
    except EOFError as error:
        raise MalformedSourceError(f"{source_file}: truncated gzip stream ({error})") from error
    except (gzip.BadGzipFile, zlib.error) as error:
        raise MalformedSourceError(f"{source_file}: not a valid gzip file ({error})") from error
    lines = text.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        raise MalformedSourceError(f"{source_file}: empty file, no pageview lines")
    result = ParseResult(records_in=len(lines))
    first_seen: dict[tuple[str, str], int] = {}
    for record_no, line in enumerate(lines, start=1):
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError as error:
            result.quarantine(source_file, record_no, line, f"non-UTF-8 bytes at byte {error.start}")
            continue
        fields = decoded.rstrip("\r").split(" ")
        if len(fields) != len(FIELDS):
            reason = f"expected {len(FIELDS)} space-separated fields ({' '.join(FIELDS)}), got {len(fields)}"
            result.quarantine(source_file, record_no, decoded, reason)
            continue
        domain_code, page_title, views_text, size_text = fields
        count_views, response_size = _non_negative_int(views_text), _non_negative_int(size_text)
        if not domain_code or not page_title:
            result.quarantine(source_file, record_no, decoded, "empty domain_code or page_title")
        elif count_views is None:
            result.quarantine(
                source_file, record_no, decoded, f"count_views is not an integer: {views_text!r}"
            )
        elif response_size is None:
            reason = f"total_response_size is not an integer: {size_text!r}"
            result.quarantine(source_file, record_no, decoded, reason)
        elif (domain_code, page_title) in first_seen:
            first = first_seen[(domain_code, page_title)]
            reason = f"duplicate of record {first} (same domain_code and page_title)"
            result.quarantine(source_file, record_no, decoded, reason)
        else:
            first_seen[(domain_code, page_title)] = record_no
            result.rows.append(
                (window_start, domain_code, page_title, count_views, response_size, source_file, record_no)
            )
    return result


SAMPLE_DOMAINS = ("en", "en.m", "de", "de.m", "fr", "fr.m", "es", "ja", "nl", "no", "commons.m", "en.d")
SAMPLE_TITLES = (
    "Main_Page",
    "Special:Search",
    "New_Year's_Day",
    "2026",
    "Python_(programming_language)",
    "Apache_Airflow",
    "Data_engineering",
    "Stavanger",
    "Oslo",
    "Zürich",
    "São_Paulo",
    "Tokyo",
    "東京都",
    "Kraków",
    "Fireworks",
    "Time_zone",
    "Coordinated_Universal_Time",
    "Gregorian_calendar",
    "Auld_Lang_Syne",
    "Wikipedia",
    "Norway",
    "Europe",
    "Moon",
    "Sun",
    "Earth",
    "SQL",
    "DuckDB",
    "PostgreSQL",
    "Great_Expectations",
    "Éire",
)
SAMPLE_LINES_PER_HOUR = 300


def generate_hour(hour: datetime, lines: int = SAMPLE_LINES_PER_HOUR) -> bytes:
    """A deterministic sample dump for one hour, in the public format (gzip with a fixed mtime)."""
    rng = random.Random(f"{PIPELINE}-{hour:%Y%m%d%H}")
    pairs = [(d, t) for d in SAMPLE_DOMAINS for t in SAMPLE_TITLES]
    chosen = sorted(rng.sample(pairs, lines))
    # Night hours see fewer views; a heavy-tailed draw mimics the long tail of real dumps.
    daily_shape = 0.4 + 0.6 * abs(12 - abs(hour.hour - 14)) / 12
    body = "".join(
        f"{domain} {title} {max(1, int(rng.paretovariate(1.2) * 3 * daily_shape))} 0\n"
        for domain, title in chosen
    )
    return gzip.compress(body.encode("utf-8"), mtime=0)


def _fetch(settings: IngestionSettings, start: datetime, end: datetime) -> list[LandedObject]:
    source = settings.pageviews_source
    with skip_windows_outside_bundled_samples(source, "PAGEVIEWS_SOURCE", DEFAULT_PAGEVIEWS_SOURCE):
        body = fetch(source, start, settings.http_timeout_seconds)
    return [LandedObject(object_key(start), body, "application/gzip")]


def _parse(objects: list[tuple[str, bytes]], start: datetime) -> ParseResult:
    result = ParseResult()
    for source_file, body in objects:
        result.extend(parse(body, source_file, start))
    return result


SPEC = PipelineSpec(
    name=PIPELINE,
    raw_table=RAW_TABLE,
    raw_columns=RAW_COLUMNS,
    raw_ddl=RAW_DDL,
    fetch=_fetch,
    parse=_parse,
    target_table="marts.fct_wikipedia_pageviews",
    target_window_column="pageview_hour",
    freshness_sla_seconds=2 * 3600,
    source_location=lambda settings: settings.pageviews_source,
)


def write_samples(directory: Path, first_hour: datetime, hours: int) -> list[Path]:
    written = []
    for offset in range(hours):
        hour = first_hour + timedelta(hours=offset)
        path = directory / relative_path(hour)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(generate_hour(hour))
        written.append(path)
    return written


def _generate(args: argparse.Namespace) -> int:
    first_hour = datetime.fromisoformat(args.start)
    paths = write_samples(Path(args.out or REPO_ROOT / DEFAULT_PAGEVIEWS_SOURCE), first_hour, args.hours)
    print(f"[de-sandbox] wrote {len(paths)} sample pageview hours from {first_hour:%Y-%m-%d %H}:00")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pageview-samples", help="write deterministic sample pageview dumps")
    parser.add_argument("--start", default="2026-01-01T00:00", help="first hour (UTC), ISO format")
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--out", help="directory (default: the bundled seeds/wikipedia_pageviews)")
    parser.set_defaults(func=_generate)
