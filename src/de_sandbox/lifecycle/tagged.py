"""A pipeline's dbt models found by its config's `dbt.tag` in the parsed project (the manifest), wherever their
files live, with the YAML files and singular tests that describe only them and the models of others that use them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from de_sandbox.dbt.project import DbtProjectError, dbt_executable, ensure_manifest, read_manifest
from de_sandbox.ingestion.config import PipelineConfigError, load_config, pipeline_names
from de_sandbox.lifecycle.layout import PipelineLayout
from de_sandbox.settings import Settings


@dataclass
class TaggedModels:
    relations: list[tuple[str, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # Models outside the pipeline that select from one of its models: removing it would break them.
    dependents: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def own_tag(layout: PipelineLayout, notes: list[str]) -> tuple[str, str] | None:
    """(dbt tag, raw table) of the config, when it loads and names a tag no other pipeline shares (a shared tag is
    not the pipeline's own: then a note says so)."""
    if not layout.config.exists():
        return None
    try:
        config = load_config(layout.config)
    except PipelineConfigError:
        return None
    if not config.dbt_tag:
        return None
    for other in pipeline_names():
        if other == layout.name:
            continue
        try:
            if load_config(other).dbt_tag == config.dbt_tag:
                notes.append(f"dbt: tag {config.dbt_tag} is pipeline {other}'s too; models by folder only")
                return None
        except PipelineConfigError:
            continue
    return config.dbt_tag, config.raw_table


def _project_file(settings: Settings, manifest_path: str) -> Path:
    """A manifest path (`original_file_path`, or a patch's `<project>://<path>`) as a file of the project."""
    return settings.dbt_project_dir / manifest_path.split("://", 1)[-1]


def _describes_only(path: Path, models: set[str], sources: set[tuple[str, str]]) -> bool:
    """Whether a properties YAML file holds nothing but entries of these models, sources and their unit tests."""
    document = yaml.safe_load(path.read_text()) or {}
    if set(document) - {"version", "models", "sources", "unit_tests"}:
        return False
    own_models = all(entry.get("name") in models for entry in document.get("models") or [])
    own_tests = all(entry.get("model") in models for entry in document.get("unit_tests") or [])
    own_sources = all(
        (source.get("name"), table.get("name")) in sources
        for source in document.get("sources") or []
        for table in source.get("tables") or []
    )
    return own_models and own_tests and own_sources


def _inside(path: Path, folders: list[Path]) -> bool:
    return any(path.is_relative_to(folder) for folder in folders)


def tagged_models(settings: Settings, layout: PipelineLayout) -> TaggedModels:
    """The models carrying the pipeline's tag, their SQL files, the YAML files and singular tests that describe
    only them (or the pipeline's raw source), and the models and tests of others that depend on them."""
    found = TaggedModels()
    if not (owned_tag := own_tag(layout, found.notes)):
        return found
    tag, raw_table = owned_tag
    try:
        ensure_manifest(settings, dbt_executable())
        manifest = read_manifest(settings)
    except DbtProjectError as error:
        found.notes.append(
            f"dbt: cannot parse the project ({str(error).splitlines()[-1]}); models by folder only"
        )
        return found
    nodes = manifest.get("nodes", {})
    models = {
        uid: node for uid, node in nodes.items() if node["resource_type"] == "model" and tag in node["tags"]
    }
    raw_schema, _, raw_name = raw_table.partition(".")
    sources = {
        uid: source
        for uid, source in manifest.get("sources", {}).items()
        if (source["schema"], source.get("identifier") or source["name"]) == (raw_schema, raw_name)
    }
    owned = set(models) | set(sources)
    names = {node["name"] for node in models.values()}
    source_names = {(source["source_name"], source["name"]) for source in sources.values()}
    found.relations = [(node["schema"], node.get("alias") or node["name"]) for node in models.values()]
    files = [_project_file(settings, node["original_file_path"]) for node in models.values()]
    properties = {node["patch_path"] for node in models.values() if node.get("patch_path")}
    properties |= {source["original_file_path"] for source in sources.values()}
    properties_removed = []
    for path in sorted(_project_file(settings, p) for p in properties):
        if path.is_file() and _describes_only(path, names, source_names):
            properties_removed.append(path)
        elif path.is_file():
            found.notes.append(
                f"dbt: {path.relative_to(settings.repo_root)} describes other models too: edit it"
            )
    removed = set(files) | set(properties_removed)
    for uid, node in nodes.items():
        depends = set(node.get("depends_on", {}).get("nodes") or [])
        path = _project_file(settings, node["original_file_path"])
        if uid in owned or not depends & owned or path in removed or _inside(path, layout.model_dirs):
            continue
        if node["resource_type"] == "test" and path.suffix == ".sql" and depends <= owned:
            files.append(path)
        else:
            found.dependents.append(f"{node['resource_type']} {node['name']}")
    found.files = [path for path in dict.fromkeys(files + properties_removed) if path.exists()]
    return found
