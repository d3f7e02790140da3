"""Bulk staging of large line files: a gzip object streamed from disk into a DuckDB staging file in blocks of
whole lines, numbered exactly, with no Python object per line; lines that are not UTF-8 are set aside here.

A pipeline classifies the staged lines in SQL and leaves a `load_rows` view with its raw table's columns
(except `loaded_at`); `warehouse.WarehouseConnection.insert_from_duckdb` then moves them into the warehouse.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from de_sandbox.ingestion.records import RAW_RECORD_MAX_CHARS, MalformedSourceError, Quarantined

READ_BYTES = 1 << 20
BLOCK_BYTES = 16 << 20
# The staging database spills to its own file beyond this, so a whole hour never sits in memory.
STAGE_MEMORY_LIMIT = "384MB"
LOAD_VIEW = "load_rows"
_INVALID_BYTE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of bytes that are not UTF-8


@dataclass
class Staged:
    """A staging DuckDB file holding the `load_rows` view; records_in == loaded + len(quarantined)."""

    path: Path
    records_in: int = 0
    loaded: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)


def gzip_line_blocks(path: Path, source_file: str) -> Iterator[bytes]:
    """The decompressed lines of a gzip file in blocks, each block whole lines joined by newlines (the block's
    final newline dropped), so `block.count(b"\\n") + 1` lines. A broken or empty file raises."""
    decompressor = zlib.decompressobj(wbits=31)
    pending = bytearray()
    produced = False
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(READ_BYTES):
                pending += decompressor.decompress(chunk)
                while decompressor.eof and decompressor.unused_data:  # a multi-member gzip file
                    rest = decompressor.unused_data
                    decompressor = zlib.decompressobj(wbits=31)
                    pending += decompressor.decompress(rest)
                if len(pending) >= BLOCK_BYTES and (cut := pending.rfind(b"\n")) >= 0:
                    produced = True
                    yield bytes(pending[:cut])
                    del pending[: cut + 1]
    except zlib.error as error:
        raise MalformedSourceError(f"{source_file}: not a valid gzip file ({error})") from error
    if not decompressor.eof:
        raise MalformedSourceError(
            f"{source_file}: truncated gzip stream (Compressed file ended before the end-of-stream marker"
            " was reached)"
        )
    if pending:
        produced = True
        # The file's final newline ends the last line; anything after it is one more line.
        yield bytes(pending[:-1]) if pending.endswith(b"\n") else bytes(pending)
    if not produced:
        raise MalformedSourceError(f"{source_file}: empty file, no pageview lines")


def set_aside_invalid_utf8(
    block: bytes, first_record_no: int, source_file: str
) -> tuple[str, list[Quarantined]]:
    """Decode a block; each line holding bytes that are not UTF-8 is quarantined and left empty in the text."""
    text = block.decode("utf-8", "surrogateescape")
    if _INVALID_BYTE.search(text) is None:
        return text, []
    pieces, quarantined, position = [], [], 0
    for match in _INVALID_BYTE.finditer(text):
        if match.start() < position:
            continue  # another invalid byte of a line already set aside
        start = text.rfind("\n", 0, match.start()) + 1
        end = text.find("\n", match.start())
        end = len(text) if end < 0 else end
        raw = text[start:end].encode("utf-8", "surrogateescape")
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            reason = f"non-UTF-8 bytes at byte {error.start}"
        record_no = first_record_no + text.count("\n", 0, start)
        shown = raw.decode("utf-8", "backslashreplace")[:RAW_RECORD_MAX_CHARS]
        quarantined.append(Quarantined(source_file, record_no, shown, reason))
        pieces.append(text[position:start])
        position = end
    pieces.append(text[position:])
    return "".join(pieces), quarantined


def connect_stage(path: Path) -> Any:
    import duckdb

    connection = duckdb.connect(str(path))
    connection.execute(f"set memory_limit = '{STAGE_MEMORY_LIMIT}'")
    connection.execute(f"set temp_directory = '{path.parent / 'spill'}'")
    connection.execute("set preserve_insertion_order = false")
    return connection


def stage_lines(connection: Any, table: str, path: Path, source_file: str) -> tuple[int, list[Quarantined]]:
    """Append the lines of one gzip file to `table (source_file, record_no, line)`; lines set aside as non-UTF-8
    are staged empty and returned. Returns (lines read, set aside)."""
    connection.execute(
        f"create table if not exists {table} (source_file varchar, record_no bigint, line varchar)"
    )
    next_record_no, set_aside = 1, []
    for block in gzip_line_blocks(path, source_file):
        text, invalid = set_aside_invalid_utf8(block, next_record_no, source_file)
        set_aside.extend(invalid)
        connection.execute(
            f"insert into {table} select ?, unnest(generate_series(?::bigint, ? + len(lines) - 1)),"
            " unnest(lines) from (select string_split(?, chr(10)) as lines)",
            (source_file, next_record_no, next_record_no, text),
        )
        next_record_no += block.count(b"\n") + 1
    return next_record_no - 1, set_aside
