"""Settings of the ingestion pipelines (object store, sources, audit, ledger), read from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass

from de_sandbox.settings import REPO_ROOT, load_dotenv_file

DEFAULT_PAGEVIEWS_SOURCE = "seeds/wikipedia_pageviews"
DEFAULT_PARKING_SOURCE = "seeds/stavanger_parking"


def _source(name: str, default: str) -> str:
    """A URL stays as it is; a directory path is made absolute against the repo root."""
    value = os.getenv(name) or default
    if "://" in value or os.path.isabs(value):
        return value
    return str(REPO_ROOT / value)


@dataclass(frozen=True)
class IngestionSettings:
    minio_endpoint: str
    minio_access_key: str
    minio_secret_key: str
    minio_secure: bool
    bucket_raw: str
    bucket_archive: str
    pageviews_source: str
    parking_source: str
    http_timeout_seconds: float
    audit_tolerance_pct: float
    stale_after_minutes: float


def get_ingestion_settings() -> IngestionSettings:
    load_dotenv_file()
    return IngestionSettings(
        minio_endpoint=os.getenv("MINIO_ENDPOINT", "127.0.0.1:9000"),
        minio_access_key=os.getenv("MINIO_ROOT_USER", "sandbox"),
        minio_secret_key=os.getenv("MINIO_ROOT_PASSWORD", "sandbox"),
        minio_secure=os.getenv("MINIO_SECURE", "false").lower() in ("1", "true", "yes"),
        bucket_raw=os.getenv("S3_BUCKET_RAW", "raw"),
        bucket_archive=os.getenv("S3_BUCKET_ARCHIVE", "archive"),
        pageviews_source=_source("PAGEVIEWS_SOURCE", DEFAULT_PAGEVIEWS_SOURCE),
        parking_source=_source("STAVANGER_PARKING_URL", DEFAULT_PARKING_SOURCE),
        http_timeout_seconds=float(os.getenv("INGESTION_HTTP_TIMEOUT_SECONDS", "60")),
        audit_tolerance_pct=float(os.getenv("AUDIT_TOLERANCE_PCT", "0")),
        stale_after_minutes=float(os.getenv("LEDGER_STALE_AFTER_MINUTES", "60")),
    )
