"""Whether a name can become a new pipeline: a lowercase identifier that no pipeline, DAG, dbt model, dbt source,
seed or schema already uses."""

from __future__ import annotations

from pathlib import Path

import yaml

from de_sandbox.ingestion.config import pipeline_names
from de_sandbox.lifecycle.layout import NAME_PATTERN, RESERVED_NAMES, PipelineError, PipelineLayout


def dbt_names(project_dir: Path) -> tuple[set[str], set[str]]:
    """Every model name (SQL file stem) and every source name the dbt project declares."""
    models_dir = project_dir / "models"
    models = {path.stem for path in models_dir.rglob("*.sql")}
    sources = set()
    for path in models_dir.rglob("*.yml"):
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError:
            continue
        sources |= {
            str(source.get("name")) for source in document.get("sources") or [] if isinstance(source, dict)
        }
    return models, sources


def check_new_name(root: Path, name: str, model_names: list[str]) -> None:
    """Raise PipelineError saying what to do when `name` cannot be a new pipeline's name."""
    if not NAME_PATTERN.match(name or ""):
        raise PipelineError(
            f"NAME={name!r} is not a lowercase identifier: use 2-40 of a-z, 0-9 and _, starting with a letter "
            "(e.g. NAME=shop_events)"
        )
    if name in RESERVED_NAMES:
        raise PipelineError(f"NAME={name} is a schema or project name of the sandbox: choose another name")
    layout = PipelineLayout(root, name)
    if name in pipeline_names() or layout.config.exists():
        raise PipelineError(
            f"a pipeline {name} exists already ({layout.relative(layout.config)}): choose another name"
        )
    if layout.dag.exists():
        raise PipelineError(
            f"a DAG {name} exists already ({layout.relative(layout.dag)}): choose another name"
        )
    models, sources = dbt_names(root / "dbt")
    clashes = sorted(({name, *model_names} & models) | ({name} & sources))
    if clashes:
        raise PipelineError(
            f"NAME={name} clashes with the dbt model or source {', '.join(clashes)}: choose another name"
        )
    seeds = [root / "seeds" / f"{name}.csv", layout.sample_dir, *layout.model_dirs]
    if taken := [layout.relative(path) for path in seeds if path.exists()]:
        raise PipelineError(f"NAME={name} clashes with {', '.join(taken)}: choose another name")
