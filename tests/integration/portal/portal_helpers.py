"""What the portal tests write into their warehouses, so tests can compare the pages with it."""

from __future__ import annotations

from datetime import datetime

BIG_ROWS = 6_000_000
WINDOW = datetime(2026, 3, 1, 10)
QUARANTINE_REASONS = {"bad count: 'x'": 2, "missing field page_title": 1}
