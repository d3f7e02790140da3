"""Keeps each Cosmos task's dbt run_results.json under the data folder, so runs can be summarised and measured."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from de_sandbox.dbt.project import artifacts_dir
from de_sandbox.settings import Settings, get_settings


def run_results_dir(settings: Settings, dag_id: str, run_id: str) -> Path:
    safe_run = "".join(c if c.isalnum() or c in "-_." else "_" for c in run_id)
    return artifacts_dir(settings) / "run_results" / dag_id / safe_run


def collect_run_results(project_dir: str, context: dict[str, Any] | None = None, **_: Any) -> Path | None:
    """Cosmos `callback`: copy target/run_results.json of the task's temporary project copy."""
    source = Path(project_dir) / "target" / "run_results.json"
    if not source.is_file() or context is None:
        return None
    ti = context["ti"]
    target = run_results_dir(get_settings(), ti.dag_id, ti.run_id) / f"{ti.task_id}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def node_outcomes(settings: Settings, dag_id: str, run_id: str) -> Counter:
    """Counts of (resource type, status) over every dbt node the run executed, e.g. ('test', 'pass')."""
    outcomes: Counter = Counter()
    folder = run_results_dir(settings, dag_id, run_id)
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        for result in json.loads(path.read_text()).get("results", []):
            outcomes[(result["unique_id"].split(".", 1)[0], result["status"])] += 1
    return outcomes
