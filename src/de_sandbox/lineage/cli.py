"""`de-sandbox lineage`: the table-level edges recorded by Airflow's OpenLineage file transport."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from de_sandbox.lineage.events import format_edges, lineage_edges
from de_sandbox.settings import get_settings


def _lineage(args: argparse.Namespace) -> int:
    directory = args.events_dir or get_settings().lineage_dir
    edges = lineage_edges(directory, args.dag)
    print(
        json.dumps([asdict(edge) for edge in edges], indent=2)
        if args.json
        else format_edges(edges, args.namespaces)
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "lineage", help="print table-level lineage (source -> target, job) from the OpenLineage event files"
    )
    parser.add_argument("--dag", help="only the jobs of this DAG")
    parser.add_argument("--events-dir", type=Path, help="event folder (default: DATA_DIR/lineage)")
    parser.add_argument("--namespaces", action="store_true", help="show each table's database namespace")
    parser.add_argument("--json", action="store_true", help="print the edges as JSON")
    parser.set_defaults(func=_lineage)
