"""The formats a pipeline config names (`source.format`): how landed objects become raw rows. Two are the bundled
sources' own (`pageviews`, `parking`); two are generic and driven by the config's raw columns: `delimited`
(CSV-like text) and `json_records` (a JSON response holding a list of records)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from de_sandbox.ingestion import pageviews, parking
from de_sandbox.ingestion.bulk import Staged
from de_sandbox.ingestion.records import MalformedSourceError, ParseResult

# Columns every raw table has besides the config's own: the window first, where each row came from last.
WINDOW_COLUMN = "window_start"
LINEAGE_COLUMNS = ("source_file", "record_no", "loaded_at")
SOURCE_KINDS = ("files", "http")
INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}


@dataclass(frozen=True)
class Column:
    """One raw column of a config: its warehouse type, whether it may be empty, and where the source has it."""

    name: str
    type: str
    nullable: bool = False
    field: str | None = None
    time_format: str | None = None

    @property
    def source_field(self) -> str:
        return self.field or self.name


@dataclass(frozen=True)
class Layout:
    """What a generic format reads from the config: the columns, the key that makes a record unique, options."""

    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


Parse = Callable[[Layout, list[tuple[str, bytes]], datetime], ParseResult]
Stage = Callable[[Layout, Any, list[tuple[str, Path]], datetime], Staged]


@dataclass(frozen=True)
class Format:
    """A named format: the source kinds it reads, the content type it lands, and exactly one of `parse` (small
    objects, in memory) or `stage` (large files into DuckDB). `columns`/`keys` are set when they are fixed."""

    name: str
    kinds: tuple[str, ...]
    content_type: str
    parse: Parse | None = None
    stage: Stage | None = None
    columns: tuple[Column, ...] | None = None
    keys: tuple[str, ...] | None = None


def _parking_parse(_: Layout, objects: list[tuple[str, bytes]], window_start: datetime) -> ParseResult:
    result, seen = ParseResult(), {}
    for source_file, body in objects:
        result.extend(parking.parse(body, source_file, window_start, seen))
    return result


def _pageviews_stage(
    _: Layout, connection: Any, files: list[tuple[str, Path]], window_start: datetime
) -> Staged:
    return pageviews.stage(connection, files, window_start)


class BadValue(ValueError):
    """One value of a record does not fit its column: the record is quarantined with this reason."""


def convert(column: Column, value: Any) -> Any:
    """A source value as the column's type; BadValue says why not."""
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        if column.nullable:
            return None
        raise BadValue(f"{column.name} is empty (field {column.source_field})")
    kind = column.type
    try:
        if kind.startswith("varchar"):
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            limit = int(kind[8:-1]) if "(" in kind else None
            if limit is not None and len(text) > limit:
                raise BadValue(f"{column.name} is longer than {limit} characters: {len(text)}")
            return text
        if kind in INT_RANGES:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            number = int(value) if not isinstance(value, str) else int(value, 10)
            low, high = INT_RANGES[kind]
            if not low <= number <= high:
                raise BadValue(f"{column.name}: {value!r} is out of range for {kind}")
            return number
        if kind == "double precision":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text in ("true", "1", "yes", "t", "y"):
                return True
            if text in ("false", "0", "no", "f", "n"):
                return False
            raise ValueError
        if kind == "date":
            if column.time_format:
                return datetime.strptime(str(value), column.time_format).date()
            return date.fromisoformat(str(value))
        moment = (
            datetime.strptime(str(value), column.time_format)
            if column.time_format
            else datetime.fromisoformat(str(value))
        )
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    except BadValue:
        raise
    except (TypeError, ValueError):
        expected = f"{kind} ({column.time_format})" if column.time_format else kind
        raise BadValue(f"{column.name}: {value!r} is not a valid {expected}") from None


class _Rows:
    """Builds raw rows of one window from records, quarantining bad values and repeated keys."""

    def __init__(self, layout: Layout, window_start: datetime) -> None:
        self.layout, self.window_start = layout, window_start
        self.key_positions = [[c.name for c in layout.columns].index(k) for k in layout.keys]
        self.seen: dict[tuple, str] = {}
        self.result = ParseResult()

    def add(self, source_file: str, record_no: int, raw: str, values: Sequence[Any]) -> None:
        self.result.records_in += 1
        try:
            converted = [convert(c, v) for c, v in zip(self.layout.columns, values, strict=True)]
        except BadValue as reason:
            self.result.quarantine(source_file, record_no, raw, str(reason))
            return
        key = tuple(converted[p] for p in self.key_positions)
        if key in self.seen:
            reason = f"duplicate of {self.seen[key]} (same {', '.join(self.layout.keys)})"
            self.result.quarantine(source_file, record_no, raw, reason)
            return
        self.seen[key] = f"{source_file} record {record_no}"
        self.result.rows.append((self.window_start, *converted, source_file, record_no))


def parse_delimited(layout: Layout, objects: list[tuple[str, bytes]], window_start: datetime) -> ParseResult:
    """Delimited text (options: delimiter, header, encoding): with a header, each column's `field` (default: its
    name) is looked up by name; without one, the columns are the fields in order. Record numbers count data rows."""
    delimiter = layout.options.get("delimiter", ",")
    header = layout.options.get("header", True)
    encoding = layout.options.get("encoding", "utf-8")
    rows = _Rows(layout, window_start)
    for source_file, body in objects:
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError as error:
            raise MalformedSourceError(f"{source_file}: not {encoding} text ({error})") from error
        records = (r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r)
        if header:
            names = next(records, None)
            if names is None:
                raise MalformedSourceError(f"{source_file}: empty file, no header line")
            names = [n.strip() for n in names]
            missing = [c.source_field for c in layout.columns if c.source_field not in names]
            if missing:
                raise MalformedSourceError(
                    f"{source_file}: header has no field(s) {', '.join(missing)} (it has {', '.join(names)})"
                )
            positions = [names.index(c.source_field) for c in layout.columns]
            width = len(names)
        else:
            positions, width = list(range(len(layout.columns))), len(layout.columns)
        for record_no, record in enumerate(records, start=1):
            raw = delimiter.join(record)
            if len(record) != width:
                rows.result.records_in += 1
                rows.result.quarantine(
                    source_file, record_no, raw, f"expected {width} fields, got {len(record)}"
                )
                continue
            rows.add(source_file, record_no, raw, [record[p] for p in positions])
    return rows.result


def _dig(value: Any, path: str) -> Any:
    """A dotted path into nested JSON objects; None when any step is missing."""
    for step in path.split(".") if path else ():
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def parse_json_records(
    layout: Layout, objects: list[tuple[str, bytes]], window_start: datetime
) -> ParseResult:
    """JSON responses (option records_path: a dotted path to the list of records, empty for a top-level list);
    each column's `field` is a dotted path inside a record (default: its name)."""
    path = layout.options.get("records_path", "")
    rows = _Rows(layout, window_start)
    for source_file, body in objects:
        try:
            payload = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise MalformedSourceError(f"{source_file}: response is not JSON ({error})") from error
        records = _dig(payload, path)
        if not isinstance(records, list):
            where = f"at {path!r}" if path else "at the top level"
            raise MalformedSourceError(
                f"{source_file}: expected a JSON list of records {where}, got {type(records).__name__}"
            )
        for record_no, record in enumerate(records, start=1):
            raw = json.dumps(record, ensure_ascii=False)
            if not isinstance(record, dict):
                rows.result.records_in += 1
                rows.result.quarantine(source_file, record_no, raw, "record is not a JSON object")
                continue
            rows.add(source_file, record_no, raw, [_dig(record, c.source_field) for c in layout.columns])
    return rows.result


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format(
            "pageviews",
            kinds=("files",),
            content_type="application/gzip",
            stage=_pageviews_stage,
            columns=(
                Column("domain_code", f"varchar({pageviews.MAX_DOMAIN_CODE})"),
                Column("page_title", f"varchar({pageviews.MAX_PAGE_TITLE})"),
                Column("count_views", "bigint"),
                Column("total_response_size", "bigint"),
            ),
            keys=("domain_code", "page_title"),
        ),
        Format(
            "parking",
            kinds=("http",),
            content_type="application/json",
            parse=_parking_parse,
            columns=(
                Column("snapshot_at", "timestamp"),
                Column("parking_house", "varchar(200)"),
                Column("latitude", "double precision", nullable=True),
                Column("longitude", "double precision", nullable=True),
                Column("free_spaces", "integer"),
            ),
            keys=("parking_house", "snapshot_at"),
        ),
        Format("delimited", kinds=SOURCE_KINDS, content_type="text/csv", parse=parse_delimited),
        Format("json_records", kinds=SOURCE_KINDS, content_type="application/json", parse=parse_json_records),
    )
}
