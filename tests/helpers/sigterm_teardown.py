"""pytest plugin: SIGTERM (a CI timeout, `kill`) stops the session the way Ctrl-C does, so every fixture still
tears down: native platforms and PostgreSQL servers are stopped instead of being left running."""

from __future__ import annotations

import signal

import pytest


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
