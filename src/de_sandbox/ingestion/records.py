"""What parsing a raw file yields: rows to load, quarantined records with a reason, and the input count."""

from __future__ import annotations

from dataclasses import dataclass, field

RAW_RECORD_MAX_CHARS = 1000


def shown(text: str) -> str:
    """A quarantined record's raw text as stored: NUL written as `\\x00` (PostgreSQL text cannot hold it), cut to
    RAW_RECORD_MAX_CHARS."""
    return text.replace("\x00", "\\x00")[:RAW_RECORD_MAX_CHARS]


class MalformedSourceError(ValueError):
    """A whole raw file or response is unusable (truncated, empty, an API error): the phase fails."""


@dataclass(frozen=True)
class Quarantined:
    source_file: str
    record_no: int | None
    raw_record: str
    reason: str


@dataclass
class ParseResult:
    """Every input record ends up either in `rows` or in `quarantined`: records_in == loaded + quarantined."""

    rows: list[tuple] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    records_in: int = 0

    def quarantine(self, source_file: str, record_no: int | None, raw: bytes | str, reason: str) -> None:
        text = raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else raw
        self.quarantined.append(Quarantined(source_file, record_no, shown(text), reason))

    def extend(self, other: ParseResult) -> None:
        self.rows.extend(other.rows)
        self.quarantined.extend(other.quarantined)
        self.records_in += other.records_in
