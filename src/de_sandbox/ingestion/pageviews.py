"""Wikipedia pageview dumps: hourly gzip files of `domain_code page_title count_views total_response_size`.

The source is the public dumps site (an http(s) base URL laid out as `<base>/YYYY/YYYY-MM/<file>`) or a local
directory in the same layout; the repo bundles deterministic sample hours for offline use.
"""

from __future__ import annotations

import argparse
import gzip
import random
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from de_sandbox.ingestion import bulk, records
from de_sandbox.ingestion import fetch as source_fetch
from de_sandbox.ingestion.records import ParseResult
from de_sandbox.settings import DEFAULT_PAGEVIEWS_SOURCE, REPO_ROOT

PIPELINE = "wikipedia_pageviews"
FIELDS = ("domain_code", "page_title", "count_views", "total_response_size")


def file_name(hour: datetime) -> str:
    return f"pageviews-{hour:%Y%m%d-%H}0000.gz"


def relative_path(hour: datetime) -> str:
    """The public dumps' layout, used by the bundled samples too."""
    return f"{hour:%Y}/{hour:%Y-%m}/{file_name(hour)}"


def object_key(hour: datetime) -> str:
    """Partitioned landing key in the raw bucket."""
    return source_fetch.object_key(PIPELINE, hour, file_name(hour))


def download(source: str, hour: datetime, timeout: float = 60.0) -> tuple[Path, bool]:
    """One hour's dump as a file, from an http(s) base URL or a local directory in the dumps' layout."""
    return source_fetch.download(source, relative_path(hour), timeout, hour)


def fetch(source: str, hour: datetime, timeout: float = 60.0) -> bytes:
    """The raw bytes of one hour's dump (small hours only; the pipeline streams files with `download`)."""
    path, temporary = download(source, hour, timeout)
    try:
        return path.read_bytes()
    finally:
        if temporary:
            path.unlink()


_FIELD_COUNT, _EMPTY_FIELD, _VIEWS_NOT_INTEGER, _SIZE_NOT_INTEGER, _TOO_LONG = 1, 2, 3, 4, 5
# The raw table's column sizes (pipelines/wikipedia_pageviews.yml): longer loads on DuckDB, fails on PostgreSQL.
MAX_DOMAIN_CODE, MAX_PAGE_TITLE = 100, 1000
_CHECKED_DDL = """create or replace temp table pv_checked (
    file_no usmallint,
    record_no bigint,
    domain_code varchar,
    page_title varchar,
    views_text varchar,
    size_text varchar,
    problem utinyint,
    key_hash ubigint,
    odd_line varchar
)"""
# Each staged block gets its lines' first problem, in the order of the rules in the README: field count, empty
# domain_code or page_title, count_views, total_response_size (ASCII digits only). Lines end in their newline:
# splitting on spaces leaves it (and any carriage returns before it) on the last field. A line is kept whole
# only when it cannot be rebuilt from its fields (quarantined, or trailing carriage returns).
_DIGITS = "'0123456789'"
_CHECK_BLOCK_SQL = f"""insert into pv_checked
with split as (
    select record_no, line, string_split(line, ' ') as fields from line_block
),
named as (
    select
        record_no,
        line,
        len(fields) as field_count,
        fields[1] as domain_code,
        fields[2] as page_title,
        fields[3] as views_text,
        fields[4] as last_field,
        rtrim(fields[4], chr(13) || chr(10)) as size_text
    from split
),
checked as (
    select
        *,
        case
            when field_count <> {len(FIELDS)} then {_FIELD_COUNT}
            when domain_code = '' or page_title = '' then {_EMPTY_FIELD}
            when length(domain_code) > {MAX_DOMAIN_CODE} or length(page_title) > {MAX_PAGE_TITLE} then {_TOO_LONG}
            when views_text = '' or ltrim(views_text, {_DIGITS}) <> '' then {_VIEWS_NOT_INTEGER}
            when size_text = '' or ltrim(size_text, {_DIGITS}) <> '' then {_SIZE_NOT_INTEGER}
        end as problem
    from named
)
select
    ? as file_no,
    record_no,
    case when problem is null then domain_code end as domain_code,
    case when problem is null then page_title end as page_title,
    case when problem is null then views_text end as views_text,
    case when problem is null then size_text end as size_text,
    problem,
    case when problem is null then hash(domain_code, page_title) end as key_hash,
    case when problem is not null or contains(last_field, chr(13)) then line end as odd_line
from checked"""
# Duplicates are found on a 64-bit hash of the key first (cheap over millions of rows), then confirmed on the
# key itself among the few rows whose hash repeats.
_DUPLICATES_SQL = """create or replace temp table pv_duplicates as
with repeated as (
    select file_no, key_hash
    from pv_checked
    where key_hash is not null
    group by file_no, key_hash
    having count(*) > 1
)
select checked.file_no, checked.key_hash, checked.domain_code, checked.page_title,
    min(checked.record_no) as first_record_no
from pv_checked as checked
semi join repeated on checked.file_no = repeated.file_no and checked.key_hash = repeated.key_hash
group by checked.file_no, checked.key_hash, checked.domain_code, checked.page_title
having count(*) > 1"""
_JOIN_DUPLICATES = """from pv_checked as checked
left join pv_duplicates as duplicates
    on checked.file_no = duplicates.file_no
    and checked.key_hash = duplicates.key_hash
    and checked.domain_code = duplicates.domain_code
    and checked.page_title = duplicates.page_title"""
_QUARANTINED_SQL = f"""select
    checked.file_no,
    checked.record_no,
    coalesce(
        rtrim(checked.odd_line, chr(10)),
        concat_ws(' ', checked.domain_code, checked.page_title, checked.views_text, checked.size_text)
    ) as line,
    checked.problem,
    duplicates.first_record_no
{_JOIN_DUPLICATES}
anti join pv_set_aside as set_aside
    on checked.file_no = set_aside.file_no and checked.record_no = set_aside.record_no
where checked.problem is not null or checked.record_no <> duplicates.first_record_no"""


def _load_view_sql(window_start: datetime) -> str:
    return f"""create or replace temp view {bulk.LOAD_VIEW} as
select
    timestamp '{window_start:%Y-%m-%d %H:%M:%S.%f}' as window_start,
    checked.domain_code,
    checked.page_title,
    cast(checked.views_text as bigint) as count_views,
    cast(checked.size_text as bigint) as total_response_size,
    files.source_file,
    checked.record_no
{_JOIN_DUPLICATES}
join pv_files as files on checked.file_no = files.file_no
where checked.problem is null
    and (duplicates.first_record_no is null or checked.record_no = duplicates.first_record_no)"""


def _reason(line: str, problem: int | None, first_record_no: int | None) -> str:
    fields = line.rstrip("\r").split(" ")
    if problem == _FIELD_COUNT:
        return f"expected {len(FIELDS)} space-separated fields ({' '.join(FIELDS)}), got {len(fields)}"
    if problem == _EMPTY_FIELD:
        return "empty domain_code or page_title"
    if problem == _TOO_LONG:
        return (
            f"domain_code or page_title longer than the raw table allows ({MAX_DOMAIN_CODE} / {MAX_PAGE_TITLE}"
            f" characters): {len(fields[0])} / {len(fields[1])}"
        )
    if problem == _VIEWS_NOT_INTEGER:
        return f"count_views is not an integer: {fields[2]!r}"
    if problem == _SIZE_NOT_INTEGER:
        return f"total_response_size is not an integer: {fields[3]!r}"
    return f"duplicate of record {first_record_no} (same domain_code and page_title)"


def stage(connection: Any, files: list[tuple[str, Path]], window_start: datetime) -> bulk.Staged:
    """Stage gzip dumps into temporary tables of a DuckDB connection and classify every line in SQL: a
    `load_rows` view of the good rows, and the quarantined lines with their reason. A broken file raises."""
    staged = bulk.Staged()
    connection.execute(_CHECKED_DDL)
    connection.execute("create or replace temp table pv_set_aside (file_no usmallint, record_no bigint)")
    connection.execute("create or replace temp table pv_files (file_no usmallint, source_file varchar)")
    for file_no, (source_file, path) in enumerate(files):
        connection.execute("insert into pv_files values (?, ?)", (file_no, source_file))
        lines, set_aside = bulk.stage_lines(connection, path, source_file, _CHECK_BLOCK_SQL, (file_no,))
        staged.records_in += lines
        staged.quarantined.extend(set_aside)
        if set_aside:
            connection.executemany(
                "insert into pv_set_aside values (?, ?)", [(file_no, q.record_no) for q in set_aside]
            )
    connection.execute(_DUPLICATES_SQL)
    connection.execute(_load_view_sql(window_start))
    for file_no, record_no, line, problem, first_record_no in connection.execute(_QUARANTINED_SQL).fetchall():
        reason = _reason(line, problem, first_record_no)
        shown = line[: records.RAW_RECORD_MAX_CHARS]
        staged.quarantined.append(records.Quarantined(files[file_no][0], record_no, shown, reason))
    order = {source_file: file_no for file_no, (source_file, _) in enumerate(files)}
    staged.quarantined.sort(key=lambda q: (order[q.source_file], q.record_no))
    return staged


def parse(data: bytes, source_file: str, window_start: datetime) -> ParseResult:
    """Parse one small gzip dump through the same staging as the bulk load, in memory (tests, samples)."""
    with tempfile.TemporaryDirectory(prefix="pageviews-parse-") as scratch:
        path = Path(scratch) / "dump.gz"
        path.write_bytes(data)
        connection = bulk.connect_stage(Path(scratch))
        try:
            staged = stage(connection, [(source_file, path)], window_start)
            rows = connection.execute(f"select * from {bulk.LOAD_VIEW} order by record_no").fetchall()
        finally:
            connection.close()
    return ParseResult(rows=rows, quarantined=staged.quarantined, records_in=staged.records_in)


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


# A synthetic hour at the size of a real one (~6M lines): every BAD_LINE_EVERY-th line is bad, the kinds in turn.
BAD_LINE_EVERY = 10_000
BAD_LINE_KINDS = ("fields", "non_utf8", "views", "size", "empty", "duplicate")


def synthetic_bad_lines(lines: int) -> dict[str, int]:
    """How many lines of each kind `write_synthetic_hour(lines)` makes bad (all are quarantined)."""
    counts = dict.fromkeys(BAD_LINE_KINDS, 0)
    for number, _ in enumerate(range(BAD_LINE_EVERY // 2, lines, BAD_LINE_EVERY)):
        counts[BAD_LINE_KINDS[number % len(BAD_LINE_KINDS)]] += 1
    return counts


def _synthetic_line(record_no: int, bad_number: int | None) -> bytes:
    domain = SAMPLE_DOMAINS[record_no % len(SAMPLE_DOMAINS)]
    title = f"{SAMPLE_TITLES[record_no % len(SAMPLE_TITLES)]}_{record_no:x}"
    views = 1 + (record_no * 7919) % 997
    if bad_number is None:
        return f"{domain} {title} {views} 0".encode()
    kind = BAD_LINE_KINDS[bad_number % len(BAD_LINE_KINDS)]
    previous = record_no - 1
    return {
        "fields": f"{domain} {title}".encode(),
        "non_utf8": f"{domain} ".encode() + b"Bad\xff" + title.encode() + b" 1 0",
        "views": f"{domain} {title} many 0".encode(),
        "size": f"{domain} {title} {views} -1".encode(),
        "empty": f"{domain}  {views} 0".encode(),
        "duplicate": _synthetic_line(previous, None).rsplit(b" ", 2)[0] + b" 5 0",
    }[kind]


def write_synthetic_hour(path: Path, lines: int, block: int = 200_000) -> Path:
    """A deterministic dump of `lines` lines in the public format with `synthetic_bad_lines(lines)` bad ones."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    with gzip.open(partial, "wb", compresslevel=1) as out:
        for first in range(1, lines + 1, block):
            numbers = range(first, min(first + block, lines + 1))
            out.write(
                b"\n".join(
                    _synthetic_line(
                        n,
                        (n - BAD_LINE_EVERY // 2 - 1) // BAD_LINE_EVERY
                        if (n - 1) % BAD_LINE_EVERY == BAD_LINE_EVERY // 2
                        else None,
                    )
                    for n in numbers
                )
                + b"\n"
            )
    partial.replace(path)
    return path


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
