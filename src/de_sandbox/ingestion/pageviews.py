"""Wikipedia pageview dumps: hourly gzip files of `domain_code page_title count_views total_response_size`.

The source is the public dumps site (an http(s) base URL laid out as `<base>/YYYY/YYYY-MM/<file>`) or a local
directory in the same layout; the repo bundles deterministic sample hours for offline use.
"""

from __future__ import annotations

import gzip
import random
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from de_sandbox.ingestion import bulk, records
from de_sandbox.ingestion import fetch as source_fetch
from de_sandbox.ingestion.records import ParseResult
from de_sandbox.warehouse import WarehouseConnection

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


_FIELD_COUNT, _EMPTY_FIELD, _VIEWS_NOT_INTEGER, _SIZE_NOT_INTEGER, _TOO_LONG, _NUL_BYTE = 1, 2, 3, 4, 5, 6
# The raw table's column sizes (pipelines/wikipedia_pageviews.yml): longer loads on DuckDB, fails on PostgreSQL.
MAX_DOMAIN_CODE, MAX_PAGE_TITLE = 100, 1000
# Per file, the staging connection keeps only the key hashes of the rows sent to the raw table, the rows held
# back because their key hash was seen before (in this block or an earlier one) and the quarantined lines: each
# block's other good rows go straight to the raw table, so a duplicate never has to be deleted from it again.
_SIDE_TABLES_DDL = (
    "create or replace temp table pv_keys (record_no bigint, key_hash ubigint)",
    """create or replace temp table pv_held (
        record_no bigint, domain_code varchar, page_title varchar, count_views bigint,
        total_response_size bigint, key_hash ubigint, odd_line varchar
    )""",
    "create or replace temp table pv_bad (record_no bigint, line varchar, problem utinyint)",
)
# A plain line (4 fields, no carriage return or NUL, counts of at most 18 digits without leading zeros, short
# enough that no field can exceed its column) is good and can be rebuilt from its typed fields: one regular
# expression decides it, and only the other lines (a handful in a real hour) pay for the rules one by one.
_PLAIN_LINE = r"[^ \r\n\x00]+ [^ \r\n\x00]+ (0|[1-9][0-9]{0,17}) (0|[1-9][0-9]{0,17})\n"
_PLAIN_MAX_BYTES = min(MAX_DOMAIN_CODE, MAX_PAGE_TITLE)
# Each staged block gets its lines' first problem, in the order of the rules in the README: a NUL byte, field
# count, empty domain_code or page_title, count_views, total_response_size (ASCII digits only). Lines end in
# their newline: splitting on spaces leaves it (and any carriage returns before it) on the last field. A line is
# kept whole only when it cannot be rebuilt from its fields (quarantined, or not plain).
_DIGITS = "'0123456789'"
_CHECK_BLOCK_SQL = f"""create or replace temp table pv_block as
with split as (
    select
        record_no,
        line,
        string_split(line, ' ') as fields,
        strlen(line) <= {_PLAIN_MAX_BYTES} and regexp_full_match(line, '{_PLAIN_LINE}') as plain
    from line_block
),
named as (
    select
        record_no,
        line,
        plain,
        len(fields) as field_count,
        fields[1] as domain_code,
        fields[2] as page_title,
        fields[3] as views_text,
        fields[4] as last_field
    from split
),
checked as (
    select
        *,
        case
            when plain then null
            when contains(line, chr(0)) then {_NUL_BYTE}
            when field_count <> {len(FIELDS)} then {_FIELD_COUNT}
            when domain_code = '' or page_title = '' then {_EMPTY_FIELD}
            when length(domain_code) > {MAX_DOMAIN_CODE} or length(page_title) > {MAX_PAGE_TITLE} then {_TOO_LONG}
            when views_text = '' or ltrim(views_text, {_DIGITS}) <> '' then {_VIEWS_NOT_INTEGER}
            when rtrim(last_field, chr(13) || chr(10)) = ''
                or ltrim(rtrim(last_field, chr(13) || chr(10)), {_DIGITS}) <> '' then {_SIZE_NOT_INTEGER}
        end as problem
    from named
)
select
    record_no,
    case when problem is null then domain_code end as domain_code,
    case when problem is null then page_title end as page_title,
    case when problem is null then cast(views_text as bigint) end as count_views,
    case
        when plain then cast(last_field[:-2] as bigint)
        when problem is null then cast(rtrim(last_field, chr(13) || chr(10)) as bigint)
    end as total_response_size,
    problem,
    case when problem is null then hash(domain_code, page_title) end as key_hash,
    case when not plain then line end as odd_line
from checked"""
_BLOCK_SIDE_SQL = (
    # An inner join builds its hash table on the block, not on the file's keys so far. The held rows' keys count
    # as seen too: a key repeated within a block has no row in the raw table yet, and its later rows are held.
    """create or replace temp table pv_block_held as
    select block.record_no
    from (select key_hash from pv_keys union all select key_hash from pv_held) as seen
    inner join pv_block as block on seen.key_hash = block.key_hash
    union all
    select record_no from pv_block
    where key_hash in (
        select key_hash from pv_block where key_hash is not null group by key_hash having count(*) > 1
    )""",
    """insert into pv_held
    select record_no, domain_code, page_title, count_views, total_response_size, key_hash, odd_line
    from pv_block semi join pv_block_held using (record_no)""",
    """create or replace temp view pv_block_rows as
    select domain_code, page_title, count_views, total_response_size, record_no, key_hash
    from pv_block anti join pv_block_held using (record_no)
    where problem is null""",
    "insert into pv_keys select record_no, key_hash from pv_block_rows",
    "insert into pv_bad select record_no, rtrim(odd_line, chr(10)), problem from pv_block where problem is not null",
)
_ROW_COLUMNS = ("domain_code", "page_title", "count_views", "total_response_size", "record_no")
# The first rows of the held rows' keys that went to the raw table: the held rows are judged against them.
_FIRSTS_SQL = """select record_no from pv_keys semi join pv_held using (key_hash) order by record_no"""
_HELD_SQL = """select record_no, domain_code, page_title, count_views, total_response_size, rtrim(odd_line, chr(10))
from pv_held order by record_no"""
_QUARANTINED_SQL = """select record_no, line, problem from pv_bad
where record_no not in (select unnest(?::bigint[]))
order by record_no"""
# Record numbers go into SQL as literals (integers the staging produced) in chunks of this size.
_RECORDS_PER_STATEMENT = 10_000


def _reason(line: str, problem: int | None, first_record_no: int | None) -> str:
    fields = line.rstrip("\r").split(" ")
    if problem == _NUL_BYTE:
        return f"NUL byte at byte {len(line[: line.index(chr(0))].encode())} (text the raw table cannot hold)"
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


def _chunks(numbers: list[int]) -> list[str]:
    return [
        ", ".join(str(n) for n in numbers[first : first + _RECORDS_PER_STATEMENT])
        for first in range(0, len(numbers), _RECORDS_PER_STATEMENT)
    ]


def _resolve_held(
    connection: Any, target: bulk.RawTarget, source_file: str, window_start: datetime
) -> tuple[int, list[records.Quarantined]]:
    """Judge the held rows on their key itself: the first row of each key is loaded (it usually is already),
    every later one is quarantined (raw text rebuilt from the typed row when the line was plain). Returns
    (rows loaded here, duplicates)."""
    target.flush()
    held = connection.execute(_HELD_SQL).fetchall()
    if not held:
        return 0, []
    firsts = [record_no for (record_no,) in connection.execute(_FIRSTS_SQL).fetchall()]
    loaded_rows = []
    for chunk in _chunks(firsts):
        loaded_rows += target.connection.execute(
            f"select record_no, domain_code, page_title from {target.table}"
            f" where window_start = ? and source_file = ? and record_no in ({chunk})",
            (window_start, source_file),
        )
    first: dict[tuple[str, str], int] = {}
    for record_no, domain_code, page_title in loaded_rows:
        first.setdefault((domain_code, page_title), record_no)
    keep, duplicates = [], []
    for record_no, domain_code, page_title, views, size, odd_line in held:
        first_record_no = first.setdefault((domain_code, page_title), record_no)
        if first_record_no == record_no:
            keep.append(record_no)
            continue
        line = odd_line if odd_line is not None else f"{domain_code} {page_title} {views} {size}"
        reason = _reason(line, None, first_record_no)
        duplicates.append(records.Quarantined(source_file, record_no, records.shown(line), reason))
    loaded = 0
    if keep:
        connection.execute(
            "create or replace temp table pv_kept as select * from pv_held"
            " where record_no in (select unnest(?::bigint[]))",
            (keep,),
        )
        constants = {"window_start": window_start, "source_file": source_file}
        loaded = target.insert(connection, "pv_kept", _ROW_COLUMNS, constants)
    return loaded, duplicates


def stage(
    connection: Any, files: list[tuple[str, Path]], window_start: datetime, target: bulk.RawTarget
) -> bulk.Staged:
    """Classify every line of gzip dumps in SQL, block by block in a DuckDB connection: good rows go straight
    into the raw target, rows whose key may repeat an earlier one are held back and judged at the end; returns
    the counts and the quarantined lines with their reason. A broken file raises."""
    staged = bulk.Staged()
    for source_file, path in files:
        for ddl in _SIDE_TABLES_DDL:
            connection.execute(ddl)
        constants = {"window_start": window_start, "source_file": source_file}

        def insert_block(constants: dict = constants) -> None:
            for sql in _BLOCK_SIDE_SQL:
                connection.execute(sql)
            staged.loaded += target.insert(connection, "pv_block_rows", _ROW_COLUMNS, constants)

        lines, set_aside = bulk.stage_lines(connection, path, source_file, _CHECK_BLOCK_SQL, (), insert_block)
        staged.records_in += lines
        loaded, duplicates = _resolve_held(connection, target, source_file, window_start)
        staged.loaded += loaded
        quarantined = [*set_aside, *duplicates]
        set_aside_numbers = [q.record_no for q in set_aside]
        for record_no, line, problem in connection.execute(_QUARANTINED_SQL, (set_aside_numbers,)).fetchall():
            reason = _reason(line, problem, None)
            quarantined.append(records.Quarantined(source_file, record_no, records.shown(line), reason))
        staged.quarantined.extend(sorted(quarantined, key=lambda q: q.record_no))
    for table in ("pv_block", "pv_block_held", "pv_keys", "pv_held", "pv_bad", "pv_kept"):
        connection.execute(f"drop table if exists {table}")
    return staged


# The in-memory table `parse` stages into: the raw table's columns (pipelines/wikipedia_pageviews.yml).
_PARSED_COLUMNS = (
    "window_start",
    "domain_code",
    "page_title",
    "count_views",
    "total_response_size",
    "source_file",
    "record_no",
)
_PARSED_DDL = """create table pv_parsed (
    window_start timestamp, domain_code varchar, page_title varchar, count_views bigint,
    total_response_size bigint, source_file varchar, record_no integer, loaded_at timestamp
)"""


def parse(data: bytes, source_file: str, window_start: datetime) -> ParseResult:
    """Parse one small gzip dump through the same staging as the bulk load, into an in-memory DuckDB table
    (tests, samples)."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="pageviews-parse-") as scratch:
        path = Path(scratch) / "dump.gz"
        path.write_bytes(data)
        connection = bulk.limit_memory(duckdb.connect(), Path(scratch))
        try:
            connection.execute(_PARSED_DDL)
            target = bulk.RawTarget(
                WarehouseConnection(connection, "duckdb"), "pv_parsed", datetime(1970, 1, 1), Path(scratch)
            )
            staged = stage(connection, [(source_file, path)], window_start, target)
            columns = ", ".join(_PARSED_COLUMNS)
            rows = connection.execute(f"select {columns} from pv_parsed order by record_no").fetchall()
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
