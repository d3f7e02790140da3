"""Ingestion test fixtures: a real S3-compatible server (moto, on a free port), a DuckDB file and a copy of the
GX context in tmp_path."""

from __future__ import annotations

import itertools
import shutil

import pytest

from de_sandbox.ingestion.objectstore import ObjectStore
from de_sandbox.native.objectstore import s3_standin
from de_sandbox.settings import REPO_ROOT

_bucket_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def s3_endpoint():
    with s3_standin() as endpoint:
        yield endpoint


@pytest.fixture
def ingestion_env(s3_endpoint, tmp_path, monkeypatch):
    """Environment of one test: its own buckets, warehouse file and copies of the bundled sources."""
    number = next(_bucket_numbers)
    pageview_source = tmp_path / "pageviews"
    shutil.copytree(REPO_ROOT / "seeds" / "wikipedia_pageviews", pageview_source)
    gx_root = shutil.copytree(
        REPO_ROOT / "great_expectations", tmp_path / "gx", ignore=shutil.ignore_patterns("uncommitted")
    )
    env = {
        "DE_SANDBOX_ENV_FILE": str(tmp_path / "no.env"),
        "WAREHOUSE": "duckdb",
        "DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "METRICS_DB_PATH": str(tmp_path / "facts.sqlite"),
        "MINIO_ENDPOINT": s3_endpoint,
        "MINIO_ROOT_USER": "test-user",
        "MINIO_ROOT_PASSWORD": "test-password",
        "S3_BUCKET_RAW": f"raw-{number}",
        "S3_BUCKET_ARCHIVE": f"archive-{number}",
        "PAGEVIEWS_SOURCE": str(pageview_source),
        "STAVANGER_PARKING_URL": str(REPO_ROOT / "seeds" / "stavanger_parking"),
        "AUDIT_TOLERANCE_PCT": "0",
        "GX_ROOT_DIR": str(gx_root),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def store(ingestion_env) -> ObjectStore:
    return ObjectStore()
