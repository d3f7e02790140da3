"""`de-sandbox pageview-samples | parking-samples`: write the bundled pipelines' deterministic samples, by default
into the folder their config names as `source.location` (the one source of truth for where samples live)."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from de_sandbox.ingestion import pageviews, parking
from de_sandbox.ingestion.sources import configured_location


def _pageviews(args: argparse.Namespace) -> int:
    first_hour = datetime.fromisoformat(args.start)
    out = Path(args.out or configured_location("wikipedia_pageviews"))
    paths = pageviews.write_samples(out, first_hour, args.hours)
    print(f"[de-sandbox] wrote {len(paths)} sample pageview hours from {first_hour:%Y-%m-%d %H}:00")
    return 0


def _parking(args: argparse.Namespace) -> int:
    first = datetime.fromisoformat(args.start)
    paths = parking.write_samples(
        Path(args.out or configured_location("stavanger_parking")), first, args.hours
    )
    print(f"[de-sandbox] wrote {len(paths)} recorded parking responses from {first:%Y-%m-%d %H:%M}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pageview-samples", help="write deterministic sample pageview dumps")
    parser.add_argument("--start", default="2026-01-01T00:00", help="first hour (UTC), ISO format")
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument(
        "--out", help="directory (default: source.location of pipelines/wikipedia_pageviews.yml)"
    )
    parser.set_defaults(func=_pageviews)
    parser = subparsers.add_parser(
        "parking-samples", help="write deterministic recorded parking API responses"
    )
    parser.add_argument("--start", default="2026-01-01T00:00", help="first snapshot (UTC), ISO format")
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument(
        "--out", help="directory (default: source.location of pipelines/stavanger_parking.yml)"
    )
    parser.set_defaults(func=_parking)
