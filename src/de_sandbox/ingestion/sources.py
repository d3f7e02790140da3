"""Every ingestion pipeline by name, built from its config (`pipelines/<name>.yml`): the config's source kind
fetches the window, its format parses or stages what landed."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from pathlib import Path

from de_sandbox.ingestion import fetch
from de_sandbox.ingestion.config import PipelineConfig, load_config, pipeline_names
from de_sandbox.ingestion.spec import LandedObject, PipelineSpec, skip_windows_outside_bundled_samples
from de_sandbox.settings import IngestionSettings, pipeline_source

__all__ = ["configured_location", "pipeline", "pipeline_names", "source_location", "spec_for"]


def pipeline(name_or_path: str | Path) -> PipelineSpec:
    """The pipeline of a config, by name (in PIPELINES_DIR) or file; PipelineConfigError lists its problems."""
    return spec_for(load_config(name_or_path))


def source_location(config: PipelineConfig) -> str:
    """Where the pipeline reads: its `location_setting` variable when set, else its configured location."""
    return pipeline_source(config.location_setting, config.location)


def configured_location(name: str) -> str:
    """The location pipeline `name`'s config names (its bundled samples), whatever its variable says."""
    return pipeline_source(None, load_config(name).location)


def _fetch(
    config: PipelineConfig, settings: IngestionSettings, start: datetime, end: datetime
) -> list[LandedObject]:
    location = source_location(config)
    content_type = config.source_format.content_type
    setting = config.location_setting or f"source.location in {config.path.name}"
    with skip_windows_outside_bundled_samples(location, setting, config.location):
        if config.source_kind == "files":
            relative = f"{start:{config.file_pattern}}"
            path, temporary = fetch.download(location, relative, settings.http_timeout_seconds, start)
            key = fetch.object_key(config.name, start, relative)
            return [LandedObject(key, content_type, path=path, temporary=temporary)]
        responses = fetch.call_or_recorded(
            location, config.file_pattern, start, end, settings.http_timeout_seconds, content_type
        )
    return [
        LandedObject(fetch.object_key(config.name, start, name), content_type, body=body)
        for name, body in responses
    ]


def spec_for(config: PipelineConfig) -> PipelineSpec:
    source_format = config.source_format
    return PipelineSpec(
        name=config.name,
        raw_table=config.raw_table,
        raw_columns=config.raw_columns,
        raw_ddl=config.raw_ddl,
        fetch=partial(_fetch, config),
        parse=partial(source_format.parse, config.layout) if source_format.parse else None,
        stage=partial(source_format.stage, config.layout) if source_format.stage else None,
        target_table=config.target_table or config.raw_table,
        target_window_column=config.target_window_column or "window_start",
        freshness_sla_seconds=config.freshness_sla_seconds,
        audit_tolerance_pct=config.audit_tolerance_pct,
        source_location=lambda _settings: source_location(config),
    )
