"""Bulk staging of large line files: a gzip file streamed from disk into DuckDB in blocks of whole lines
(Arrow arrays over the decompressed bytes), numbered exactly, with no Python object per line; lines that are
not UTF-8 are set aside here with their reason.

A pipeline classifies each staged block in SQL in the DuckDB connection it is given (the DuckDB warehouse
itself, or an in-memory one for PostgreSQL) and hands the block's good rows to a `RawTarget`, the raw table in
the load's transaction; only the few quarantined lines come back to Python.
"""

from __future__ import annotations

import codecs
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from isal import isal_zlib

from de_sandbox.ingestion.records import MalformedSourceError, Quarantined, shown
from de_sandbox.warehouse import WarehouseConnection

READ_BYTES = 1 << 20
BLOCK_BYTES = 16 << 20
BATCH_ROWS = 65_536
# Staging spills to disk beyond this, so a whole hour never sits in memory.
STAGE_MEMORY_LIMIT = "384MB"


@dataclass
class Staged:
    """What staging found: records_in = loaded + len(quarantined)."""

    records_in: int = 0
    loaded: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)


@dataclass
class RawTarget:
    """The raw table staged rows go to, in the load's warehouse transaction.

    On PostgreSQL a block's rows leave DuckDB as a CSV file and a writer thread copies them in while the next
    block is classified (the server's COPY and DuckDB's SQL overlap on two cores). One copy runs at a time, so
    at most two block files are on disk. `flush` waits for it and raises what it raised; `close` must follow,
    before the transaction ends."""

    connection: WarehouseConnection
    table: str
    loaded_at: datetime
    scratch: Path
    fresh: bool = False  # truncated or created in this transaction: PostgreSQL copies straight into it
    _writer: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)
    _pending: Future | None = field(default=None, init=False, repr=False)
    _exported: int = field(default=0, init=False, repr=False)

    def insert(self, stage_db: Any, relation: str, columns: Sequence[str], constants: dict[str, Any]) -> int:
        """Insert a relation of the staging connection, plus constant columns and `loaded_at`; returns its rows
        (on PostgreSQL, the rows handed to the writer: `flush` checks that all of them arrived)."""
        extra = {**constants, "loaded_at": self.loaded_at}
        if self.connection.kind == "duckdb":
            return self.connection.insert_relation(self.table, columns, relation, extra)
        self._exported += 1
        export = self.scratch / f"{relation}-{self._exported}.csv"
        (rows,) = stage_db.execute(
            f"copy (select {', '.join(columns)} from {relation}) to '{export}' (format csv, header false)"
        ).fetchone()
        try:
            self.flush()
        except BaseException:
            export.unlink(missing_ok=True)
            raise
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raw-copy")
        self._pending = self._writer.submit(self._copy, export, columns, extra, int(rows))
        return int(rows)

    def _copy(self, export: Path, columns: Sequence[str], extra: dict[str, Any], rows: int) -> None:
        try:
            copied = self.connection.copy_csv(self.table, columns, export, extra, self.fresh)
        finally:
            export.unlink(missing_ok=True)
        if copied != rows:
            raise RuntimeError(f"{self.table}: {copied:,} rows arrived of {rows:,} sent")

    def flush(self) -> None:
        """Wait until every row handed over is in the table; raise the writer's error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Stop the writer after its copy in flight (its error, if any, is left to `flush`)."""
        if self._pending is not None:
            wait([self._pending])
        if self._writer is not None:
            self._writer.shutdown()
            self._writer = None


def gzip_line_blocks(path: Path, source_file: str) -> Iterator[bytes]:
    """The decompressed lines of a gzip file in blocks of whole lines, each line ending in a newline (one is
    added to a last line without it), so a block holds `block.count(b"\\n")` lines. A broken or empty file
    raises."""
    if path.stat().st_size == 0:
        raise MalformedSourceError(f"{source_file}: empty file (0 bytes), no pageview lines")
    decompressor = isal_zlib.decompressobj(wbits=31)
    pending = bytearray()
    produced = False
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(READ_BYTES):
                pending += decompressor.decompress(chunk)
                while decompressor.eof and decompressor.unused_data:  # a multi-member gzip file
                    rest = decompressor.unused_data
                    decompressor = isal_zlib.decompressobj(wbits=31)
                    pending += decompressor.decompress(rest)
                if len(pending) >= BLOCK_BYTES and (cut := pending.rfind(b"\n")) >= 0:
                    produced = True
                    yield bytes(pending[: cut + 1])
                    del pending[: cut + 1]
    except isal_zlib.error as error:
        raise MalformedSourceError(f"{source_file}: not a valid gzip file ({error})") from error
    if not decompressor.eof:
        raise MalformedSourceError(
            f"{source_file}: truncated gzip stream (Compressed file ended before the end-of-stream marker"
            " was reached)"
        )
    if pending:
        produced = True
        yield bytes(pending) if pending.endswith(b"\n") else bytes(pending + b"\n")
    if not produced:
        raise MalformedSourceError(f"{source_file}: empty file, no pageview lines")


def set_aside_invalid_utf8(
    block: bytes, first_record_no: int, source_file: str
) -> tuple[bytes, list[Quarantined]]:
    """Each line of a block holding bytes that are not UTF-8 is quarantined and left empty in the block."""
    try:
        codecs.utf_8_decode(block, "strict", True)
    except UnicodeDecodeError:
        pass
    else:
        return block, []
    view, pieces, quarantined = memoryview(block), [], []
    position, counted_to, newlines_before = 0, 0, 0
    while True:
        try:
            # From a line start the decoder stops at the next invalid byte: the whole block is decoded once.
            codecs.utf_8_decode(view[position:], "strict", True)
        except UnicodeDecodeError as error:
            invalid = position + error.start
            start = block.rfind(b"\n", 0, invalid) + 1
            end = block.find(b"\n", invalid)
            end = len(block) if end < 0 else end
            newlines_before += block.count(b"\n", counted_to, start)
            counted_to = start
            text = shown(block[start:end].decode("utf-8", "backslashreplace"))
            reason = f"non-UTF-8 bytes at byte {invalid - start}"
            quarantined.append(Quarantined(source_file, first_record_no + newlines_before, text, reason))
            pieces.append(view[position:start])
            position = end
            continue
        pieces.append(view[position:])
        return b"".join(pieces), quarantined


def limit_memory(connection: Any, spill_dir: Path | None = None) -> Any:
    """Bound a DuckDB connection's memory for staging (it spills beyond); numbering is explicit, so order is
    not preserved."""
    connection.execute(f"set memory_limit = '{STAGE_MEMORY_LIMIT}'")
    if spill_dir is not None:
        connection.execute(f"set temp_directory = '{spill_dir}'")
    connection.execute("set preserve_insertion_order = false")
    connection.execute("set enable_progress_bar = false")
    return connection


def connect_stage(spill_dir: Path) -> Any:
    """An in-memory DuckDB for staging, spilling to `spill_dir`."""
    import duckdb

    return limit_memory(duckdb.connect(), spill_dir)


def line_table(block: bytes, first_record_no: int) -> Any:
    """A block as an Arrow table (record_no, line) over the block's own bytes: no copy, no object per line.
    Each `line` keeps its final newline (Arrow values are contiguous); `rtrim(line, chr(10))` drops it."""
    import numpy as np
    import pyarrow as pa

    newlines = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == ord("\n"))
    offsets = np.empty(len(newlines) + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = newlines + 1
    lines = pa.LargeStringArray.from_buffers(len(newlines), pa.py_buffer(offsets), pa.py_buffer(block))
    record_no = np.arange(first_record_no, first_record_no + len(newlines), dtype=np.int64)
    # from_buffers all along: converting numpy arrays the usual way makes pyarrow import pandas (seconds).
    numbers = pa.Array.from_buffers(pa.int64(), len(record_no), [None, pa.py_buffer(record_no)])
    # Record batches of BATCH_ROWS (zero-copy slices): DuckDB scans the batches of one table in parallel.
    batches = [
        pa.RecordBatch.from_arrays(
            [numbers.slice(offset, BATCH_ROWS), lines.slice(offset, BATCH_ROWS)], names=["record_no", "line"]
        )
        for offset in range(0, len(record_no), BATCH_ROWS)
    ]
    return pa.Table.from_batches(
        batches, schema=pa.schema([("record_no", pa.int64()), ("line", pa.large_string())])
    )


def _prepared_blocks(path: Path, source_file: str) -> Iterator[tuple[int, Any, list[Quarantined]]]:
    """(lines, Arrow table, set aside) per block, prepared one block ahead in a thread: ISA-L and numpy release
    the GIL, so decompressing the next block overlaps DuckDB's work on this one."""
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop, done = threading.Event(), object()

    def produce() -> None:
        next_record_no = 1
        try:
            for block in gzip_line_blocks(path, source_file):
                clean, invalid = set_aside_invalid_utf8(block, next_record_no, source_file)
                table = line_table(clean, next_record_no)  # a line set aside keeps its newline
                ready.put((table.num_rows, table, invalid))
                next_record_no += table.num_rows
                if stop.is_set():
                    return
        except BaseException as error:  # handed to the consumer, raised there
            ready.put(error)
        else:
            ready.put(done)

    producer = threading.Thread(target=produce, name=f"blocks-{source_file}", daemon=True)
    producer.start()
    try:
        while (item := ready.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        # A consumer that stops early (an error in SQL) frees the producer, which then stops too.
        stop.set()
        while producer.is_alive():
            try:
                ready.get(timeout=0.1)
            except queue.Empty:
                pass
        producer.join()


def stage_lines(
    connection: Any,
    path: Path,
    source_file: str,
    insert_sql: str,
    params: tuple = (),
    each_block: Callable[[], None] | None = None,
) -> tuple[int, list[Quarantined]]:
    """Run `insert_sql` (which reads `line_block (record_no, line)`, with `params`), then `each_block`, over
    every block of a gzip file. Lines set aside as not UTF-8 are staged empty and returned with their reason.
    Returns (lines read, set aside)."""
    lines_read, set_aside = 0, []
    for lines, table, invalid in _prepared_blocks(path, source_file):
        set_aside.extend(invalid)
        connection.register("line_block", table)
        try:
            connection.execute(insert_sql, params)
        finally:
            connection.unregister("line_block")
        if each_block is not None:
            each_block()
        lines_read += lines
    return lines_read, set_aside
