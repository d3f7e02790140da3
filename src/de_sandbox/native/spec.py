"""What the native platform runs: one long-running process, how to start it and how to tell it is healthy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ServiceSpec:
    """One long-running process: how to start it and how to tell it is healthy."""

    name: str
    argv: list[str]
    health: Callable[[], bool]
    env: dict[str, str] = field(default_factory=dict)
    ports: tuple[int, ...] = ()
    url: str | None = None
    note: str = ""
