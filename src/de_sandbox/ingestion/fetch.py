"""Fetching a window's raw objects by source kind (`source.kind` of a config): `files` is one file per window
under a directory or base URL, `http` one API call per run, or offline the recorded responses inside the window."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from de_sandbox.ingestion.http import open_url


def is_url(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def object_key(pipeline: str, window_start: datetime, file_name: str) -> str:
    """Partitioned landing key in the raw bucket: every key of a pipeline starts with its name."""
    w = window_start
    return f"{pipeline}/year={w:%Y}/month={w:%m}/day={w:%d}/hour={w:%H}/{PurePosixPath(file_name).name}"


def download(location: str, relative_path: str, timeout: float, window_start: datetime) -> tuple[Path, bool]:
    """One window's file, from an http(s) base URL (streamed to a temporary file) or a local directory (the file
    itself): (path, whether it is a temporary copy the caller removes)."""
    address = f"{location.rstrip('/')}/{relative_path}"
    if is_url(location):
        suffix = "".join(PurePosixPath(relative_path).suffixes)
        with tempfile.NamedTemporaryFile(prefix="source-", suffix=suffix, delete=False) as copy:
            try:
                with open_url(address, timeout) as response:
                    shutil.copyfileobj(response, copy, 1 << 20)
            except BaseException:
                Path(copy.name).unlink(missing_ok=True)
                raise
        return Path(copy.name), True
    path = Path(address.removeprefix("file://"))
    if not path.is_file():
        raise FileNotFoundError(f"no source file for {window_start:%Y-%m-%d %H:%M} UTC at {path}")
    return path, False


def recorded_responses(
    directory: Path, name_pattern: str, window_start: datetime, window_end: datetime
) -> list[tuple[str, bytes]]:
    """(name, body) of the recorded responses whose name (`name_pattern`, UTC) falls inside the window."""
    found = []
    for path in sorted(directory.iterdir()) if directory.is_dir() else ():
        try:
            taken_at = datetime.strptime(path.name, name_pattern)
        except ValueError:
            continue
        if window_start <= taken_at < window_end:
            found.append((path.name, path.read_bytes()))
    if not found:
        raise FileNotFoundError(
            f"no recorded responses named like {name_pattern} in {directory} for [{window_start}, {window_end})"
        )
    return found


def call_or_recorded(
    location: str,
    name_pattern: str,
    window_start: datetime,
    window_end: datetime,
    timeout: float,
    accept: str = "application/json",
) -> list[tuple[str, bytes]]:
    """(name, body) of each response for the window: one live call named by its time, or the recorded ones."""
    if is_url(location):
        with open_url(location, timeout, accept=accept) as response:
            body = response.read()
        return [(f"{datetime.now(UTC):{name_pattern}}", body)]
    return recorded_responses(Path(location.removeprefix("file://")), name_pattern, window_start, window_end)
