"""Helpers of the ingestion tests: dbt builds for a window, and the figures file for the closing note."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from de_sandbox.settings import REPO_ROOT

FIGURES = REPO_ROOT / "test-output" / "ingestion" / "figures.json"


def run_dbt(
    tmp_path: Path,
    select: str,
    window_start: str | None,
    window_end: str | None,
    command: str = "build",
    extra: tuple[str, ...] = (),
    check: bool = True,
) -> subprocess.CompletedProcess:
    """`dbt build` (or `command`) of the selected nodes for a window (none: every row), as the DAG's Cosmos
    group does it; its artefacts in `tmp_path / "dbt-target"`."""
    target = tmp_path / "dbt-target"
    args = [
        str(Path(sys.executable).with_name("dbt")),
        command,
        "--select",
        select,
        *(
            ["--vars", json.dumps({"window_start": window_start, "window_end": window_end})]
            if window_start
            else []
        ),
        *extra,
        "--project-dir",
        str(REPO_ROOT / "dbt"),
        "--profiles-dir",
        str(REPO_ROOT / "dbt"),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
    ]
    result = subprocess.run(args, capture_output=True, text=True, env=os.environ.copy())
    if check:
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return result


def record_figures(name: str, figures: dict) -> None:
    """Keep measured figures (idempotency, backfill) under test-output/ for the closing note."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    known[name] = figures
    FIGURES.write_text(json.dumps(known, indent=2, default=str) + "\n")


# What the pageviews pipeline builds, dropped before a test that runs it on the session's shared PostgreSQL.
PAGEVIEWS_RELATIONS = (
    ("view", "marts.fct_wikipedia_pageviews_enriched"),
    ("table", "marts.fct_wikipedia_pageviews"),
    ("table", "marts.dim_wikipedia_pages"),
    ("view", "staging.stg_wikipedia__pageviews"),
    ("table", "raw.wikipedia_pageviews"),
    ("table", "ops.run_ledger"),
    ("table", "ops.quarantine"),
)


def use_postgres_warehouse(server, monkeypatch) -> None:
    """Point the test at the session's PostgreSQL as warehouse, with the pageviews relations dropped first."""
    from de_sandbox.warehouse import connect

    for name, value in {**server.env(), "WAREHOUSE": "postgres"}.items():
        monkeypatch.setenv(name, value)
    with connect() as connection:
        for kind, relation in PAGEVIEWS_RELATIONS:
            connection.execute(f"drop {kind} if exists {relation} cascade")
