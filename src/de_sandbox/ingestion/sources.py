"""Every ingestion pipeline by name: each source module declares its own spec."""

from __future__ import annotations

from de_sandbox.ingestion import pageviews, parking
from de_sandbox.ingestion.spec import PipelineSpec

PIPELINES: dict[str, PipelineSpec] = {spec.name: spec for spec in (pageviews.SPEC, parking.SPEC)}
