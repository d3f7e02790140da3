"""Helpers of the ingestion tests: dbt builds for a window, and the figures file for the closing note."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from de_sandbox.settings import REPO_ROOT

FIGURES = REPO_ROOT / "test-output" / "ingestion" / "figures.json"


def run_dbt(tmp_path: Path, select: str, window_start: str, window_end: str) -> None:
    """`dbt build` of the selected models for a window, as the DAG's Cosmos group does it."""
    target = tmp_path / "dbt-target"
    command = [
        str(Path(sys.executable).with_name("dbt")),
        "build",
        "--select",
        select,
        "--vars",
        json.dumps({"window_start": window_start, "window_end": window_end}),
        "--project-dir",
        str(REPO_ROOT / "dbt"),
        "--profiles-dir",
        str(REPO_ROOT / "dbt"),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def record_figures(name: str, figures: dict) -> None:
    """Keep measured figures (idempotency, backfill) under test-output/ for the closing note."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    known = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    known[name] = figures
    FIGURES.write_text(json.dumps(known, indent=2, default=str) + "\n")
