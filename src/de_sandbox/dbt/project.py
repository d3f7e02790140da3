"""The dbt project on disk: its name, where its manifest lives, and running dbt commands with the sandbox's env."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from de_sandbox.settings import Settings

# Folders dbt writes into or downloads to: never part of the project's source.
_GENERATED_DIRS = {"target", "logs", "dbt_packages", "dbt_modules", ".venv", "__pycache__"}


class DbtProjectError(RuntimeError):
    """The dbt project is missing, malformed or failed to parse."""


def dbt_executable() -> str:
    """The dbt next to the running interpreter (the project venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dbt_project_name(project_dir: Path) -> str:
    project_file = project_dir / "dbt_project.yml"
    if not project_file.is_file():
        raise DbtProjectError(
            f"no dbt project at {project_dir} (dbt_project.yml missing): check DBT_PROJECT_DIR"
        )
    config = yaml.safe_load(project_file.read_text()) or {}
    if not config.get("name"):
        raise DbtProjectError(f"{project_file} has no `name:`")
    return str(config["name"])


def project_paths(project_dir: Path) -> dict[str, str]:
    """The project's own model/seed/snapshot folders (first of each list), as dbt_project.yml declares them."""
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}
    defaults = {"model-paths": "models", "seed-paths": "seeds", "snapshot-paths": "snapshots"}
    return {key: (config.get(key) or [default])[0] for key, default in defaults.items()}


def artifacts_dir(settings: Settings) -> Path:
    """Per project and warehouse, under the data folder: a bring-your-own project is never written into."""
    return settings.data_dir / "dbt" / f"{dbt_project_name(settings.dbt_project_dir)}-{settings.warehouse}"


def manifest_path(settings: Settings) -> Path:
    return artifacts_dir(settings) / "target" / "manifest.json"


def deployed_state_dir(settings: Settings) -> Path:
    """The manifest the last run rendered its DAG from (`--state` for `state:modified`), kept apart from the
    working manifest that any parse refreshes."""
    return artifacts_dir(settings) / "deployed"


def mark_deployed(settings: Settings) -> Path:
    """Keep the current manifest as the deployed one; called when a run starts from it."""
    target = deployed_state_dir(settings) / "manifest.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(manifest_path(settings), target)
    return target


# Secrets dbt reads with env_var(): never handed to Cosmos, which would store them in every serialised DAG.
SECRET_ENV = ("POSTGRES_PASSWORD",)


def dbt_env(settings: Settings, include_secrets: bool = True) -> dict[str, str]:
    """Environment every dbt invocation needs: absolute paths, so the working directory never matters.

    Without secrets for Cosmos: its tasks inherit the password from the worker's own environment instead.
    """
    env = {
        "WAREHOUSE": settings.warehouse,
        "DUCKDB_PATH": str(settings.duckdb_path),
        "DBT_PROFILES_DIR": str(settings.dbt_profiles_dir),
        "POSTGRES_HOST": settings.postgres_host,
        "POSTGRES_PORT": str(settings.postgres_port),
        "POSTGRES_USER": settings.postgres_user,
        "POSTGRES_PASSWORD": settings.postgres_password,
        "WAREHOUSE_DB": settings.warehouse_db,
        # Offline sandbox: a bring-your-own project without this flag would try to phone home.
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return env if include_secrets else {k: v for k, v in env.items() if k not in SECRET_ENV}


@dataclass
class DbtResult:
    args: list[str]
    returncode: int
    seconds: float
    output: str


def run_dbt(
    settings: Settings,
    args: list[str],
    dbt_bin: str,
    check: bool = True,
    target: str = "target",
    stream: bool = False,
) -> DbtResult:
    """Run the dbt CLI against the configured project, with artefacts kept under the data folder; `stream`
    shows dbt's output as it comes instead of returning it."""
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    command = [dbt_bin, *_cli_args(settings, args, target)]
    started = time.perf_counter()
    proc = subprocess.run(
        command,
        env={**os.environ, **dbt_env(settings)},
        capture_output=not stream,
        text=True,
        cwd=settings.dbt_project_dir,
    )
    output = "" if stream else proc.stdout + proc.stderr
    result = DbtResult(command, proc.returncode, time.perf_counter() - started, output)
    if check and proc.returncode != 0:
        raise DbtProjectError(
            f"`dbt {' '.join(args)}` failed (exit {proc.returncode}):\n{result.output[-4000:]}"
        )
    return result


def _source_fingerprint(project_dir: Path) -> float:
    """Newest mtime of the project's files and folders (a folder's changes when a file in it is deleted)."""
    newest = 0.0
    for root, dirs, files in os.walk(project_dir):
        dirs[:] = [d for d in dirs if d not in _GENERATED_DIRS and not d.startswith(".")]
        newest = max(newest, Path(root).stat().st_mtime)
        for name in files:
            newest = max(newest, (Path(root) / name).stat().st_mtime)
    return newest


def ensure_manifest(settings: Settings, dbt_bin: str) -> Path:
    """Run `dbt parse` when the manifest is missing or older than any project (or seed/profile) file."""
    manifest = manifest_path(settings)
    inputs = [settings.dbt_project_dir, settings.dbt_profiles_dir / "profiles.yml"]
    seed_paths = (yaml.safe_load((settings.dbt_project_dir / "dbt_project.yml").read_text()) or {}).get(
        "seed-paths", []
    )
    inputs += [(settings.dbt_project_dir / p).resolve() for p in seed_paths]
    newest = max(_source_fingerprint(p) if p.is_dir() else p.stat().st_mtime for p in inputs if p.exists())
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return manifest
    print(f"[de-sandbox] dbt parse {settings.dbt_project_dir} -> {manifest}", flush=True)
    run_dbt(settings, ["parse"], dbt_bin)
    if not manifest.exists():
        raise DbtProjectError(f"dbt parse finished but wrote no manifest at {manifest}")
    return manifest


def _cli_args(settings: Settings, args: list[str], target: str) -> list[str]:
    out_dir = artifacts_dir(settings)
    return [
        *args,
        "--project-dir",
        str(settings.dbt_project_dir),
        "--profiles-dir",
        str(settings.dbt_profiles_dir),
        "--profile",
        "de_sandbox",
        "--target",
        settings.dbt_target,
        "--target-path",
        str(out_dir / target),
        "--log-path",
        str(out_dir / "logs"),
    ]


def invoke_dbt(settings: Settings, args: list[str], target: str = "target", check: bool = True) -> Any:
    """Run dbt in this process (dbtRunner): no interpreter start, for tasks whose process already loaded dbt.
    Returns dbt's result (its `result` holds what the command produced)."""
    from dbt.cli.main import dbtRunner

    from de_sandbox.warehouse import release_dbt_duckdb

    os.environ.update(dbt_env(settings))
    release_dbt_duckdb()
    try:
        result = dbtRunner().invoke(_cli_args(settings, args, target))
    finally:
        release_dbt_duckdb()
    if check and not result.success:
        raise DbtProjectError(f"`dbt {' '.join(args)}` failed: {result.exception or 'see the dbt log above'}")
    return result


def generate_docs(settings: Settings | None = None) -> str:
    """`dbt docs generate --static`: one self-contained HTML file that opens from disk."""
    from de_sandbox.settings import get_settings

    settings = settings or get_settings()
    invoke_dbt(settings, ["docs", "generate", "--static"], target="docs")
    return str(artifacts_dir(settings) / "docs" / "static_index.html")


def read_manifest(settings: Settings) -> dict:
    path = manifest_path(settings)
    if not path.exists():
        raise DbtProjectError(
            f"dbt manifest not found at {path}: run `make run DAG=...` or `de-sandbox dbt-parse` to create it"
        )
    return json.loads(path.read_text())


@dataclass(frozen=True)
class NodeRelation:
    """The warehouse table or view of a dbt model, seed, snapshot or source, and the nodes it reads."""

    unique_id: str
    resource_type: str
    database: str
    schema: str
    identifier: str
    parents: tuple[str, ...]


def node_relations(settings: Settings) -> dict[str, NodeRelation]:
    """Every node of the manifest that lives in the warehouse (ephemeral models do not), by unique_id."""
    path = manifest_path(settings)
    if not path.exists():
        raise DbtProjectError(f"dbt manifest not found at {path}: create it with `de-sandbox dbt-parse`")
    return _node_relations(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _node_relations(path: str, mtime_ns: int) -> dict[str, NodeRelation]:
    # Keyed on the mtime as well: a DAG processor parses many files and the manifest changes under it.
    manifest = json.loads(Path(path).read_text())
    relations = {}
    for unique_id, node in {**manifest.get("sources", {}), **manifest.get("nodes", {})}.items():
        if node.get("resource_type") not in ("model", "seed", "snapshot", "source"):
            continue
        if (node.get("config") or {}).get("materialized") == "ephemeral":
            continue
        identifier = node.get("identifier") or node.get("alias") or node.get("name")
        if not (node.get("database") and node.get("schema") and identifier):
            continue
        relations[unique_id] = NodeRelation(
            unique_id=unique_id,
            resource_type=node["resource_type"],
            database=node["database"],
            schema=node["schema"],
            identifier=identifier,
            parents=tuple((node.get("depends_on") or {}).get("nodes") or ()),
        )
    return relations
