"""`make pipeline-new`: write a working pipeline from a template (config, DAG file, staging/intermediate/marts models
with tests, GX suite, offline sample data) and nothing else; a scaffold that fails removes what it wrote."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from de_sandbox.lifecycle.layout import PipelineError, PipelineLayout
from de_sandbox.lifecycle.names import check_new_name
from de_sandbox.lifecycle.samples import SAMPLES
from de_sandbox.settings import Settings

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATES = ("files", "http-json")
# Placeholders in template paths and contents.
NAME, TAG, UPPER = "__name__", "__tag__", "__NAME__"


def render(templates: Path, template: str, name: str) -> dict[Path, bytes]:
    """Repository-relative path -> content of every file of the pipeline: templates, then sample data."""
    files: dict[Path, bytes] = {}
    for folder in (templates / "common", templates / template):
        for source in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            relative = Path(str(source.relative_to(folder)).replace(NAME, name))
            text = source.read_text().replace(NAME, name).replace(TAG, name).replace(UPPER, name.upper())
            if relative.suffix == ".json" and "expectations" in relative.parts:
                text = _with_ids(text)
            files[relative] = text.encode()
    sample_dir = PipelineLayout(Path("."), name).sample_dir
    files.update({sample_dir / file_name: body for file_name, body in SAMPLES[template](name).items()})
    return files


def _with_ids(suite_json: str) -> str:
    """A GX suite file as GX writes it: every expectation and the suite with an id."""
    suite = json.loads(suite_json)
    for expectation in suite["expectations"]:
        expectation["id"] = str(uuid.uuid4())
    suite["id"] = str(uuid.uuid4())
    return json.dumps(suite, indent=2, sort_keys=True) + "\n"


def validate_config(path: Path) -> None:
    """Every schema error of the written config at once, or nothing."""
    from de_sandbox.ingestion.config import PipelineConfigError, load_config

    try:
        load_config(path)
    except PipelineConfigError as error:
        problems = "; ".join(error.errors)
        raise PipelineError(f"the scaffolded config {path.name} fails its schema: {problems}") from error


def write_all(root: Path, files: dict[Path, bytes]) -> list[Path]:
    """Write the files; on any failure remove every file and folder written so far and re-raise."""
    written: list[Path] = []
    made: list[Path] = []
    try:
        for relative, body in files.items():
            path = root / relative
            missing = [parent for parent in reversed(path.parents) if not parent.exists()]
            path.parent.mkdir(parents=True, exist_ok=True)
            made += missing
            path.write_bytes(body)
            written.append(path)
    except BaseException:
        rollback(written, made)
        raise
    return [*made, *written]


def rollback(written: list[Path], made: list[Path]) -> None:
    for path in written:
        path.unlink(missing_ok=True)
    for folder in reversed(made):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def new_pipeline(settings: Settings, name: str, template: str, templates: Path = TEMPLATES_DIR) -> list[Path]:
    """Scaffold pipeline `name` from `template`; returns the files written (repository paths)."""
    if template not in TEMPLATES:
        raise PipelineError(
            f"TEMPLATE={template!r} is not a template: use TEMPLATE=files or TEMPLATE=http-json"
        )
    root = settings.repo_root
    files = render(templates, template, name)
    check_new_name(root, name, [path.stem for path in files if path.suffix == ".sql"])
    if taken := [str(path) for path in files if (root / path).exists()]:
        raise PipelineError(f"NAME={name} clashes with existing {', '.join(taken)}: choose another name")
    created = write_all(root, files)
    try:
        validate_config(PipelineLayout(root, name).config)
    except BaseException:
        rollback([p for p in created if p.is_file()], [p for p in created if p.is_dir()])
        raise
    return [root / path for path in files]


def next_steps(name: str) -> list[str]:
    return [
        f"make pipeline-check NAME={name}          # validate, parse, import, build changed models on a scratch copy",
        f"make run DAG={name} DATE=2026-01-01T01:00   # run the first sample hour end to end",
        f'make dbt ARGS="build --select tag:{name}"   # rebuild its models after an edit',
        f"make pipeline-remove NAME={name}         # list what removal would take (CONFIRM=1 removes it)",
    ]
