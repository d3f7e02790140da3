"""The minio-client wrapper against a real S3-compatible server: buckets, landing, listing, archiving."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_land_read_and_archive(store):
    store.ensure_buckets()
    store.ensure_buckets()
    key = "wikipedia_pageviews/year=2026/month=01/day=01/hour=05/pageviews-20260101-050000.gz"
    landed = store.put(store.raw_bucket, key, b"payload", "application/gzip")
    assert landed.size == 7
    assert store.get(store.raw_bucket, key) == b"payload"
    assert store.list_keys(store.raw_bucket, "wikipedia_pageviews/year=2026/") == [key]

    archived = store.archive(key)

    assert (archived.bucket, archived.key, archived.size) == (store.archive_bucket, key, 7)
    assert not store.exists(store.raw_bucket, key)
    assert store.get(store.archive_bucket, key) == b"payload"


def test_unreachable_endpoint_is_reported(ingestion_env, monkeypatch):
    from de_sandbox.ingestion.objectstore import ObjectStore, ObjectStoreUnavailable
    from de_sandbox.native.processes import free_port

    endpoint = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("MINIO_ENDPOINT", endpoint)
    assert not ObjectStore().is_reachable()
    with pytest.raises(ObjectStoreUnavailable, match=f"object store at {endpoint} \\(MINIO_ENDPOINT\\)"):
        ObjectStore().ensure_buckets()


def test_object_store_available_starts_a_standin_when_needed(ingestion_env, monkeypatch):
    from de_sandbox.ingestion.objectstore import ObjectStore
    from de_sandbox.native.objectstore import object_store_available
    from de_sandbox.native.processes import free_port

    wanted = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("MINIO_ENDPOINT", wanted)
    with object_store_available() as endpoint:
        assert endpoint == wanted
        assert ObjectStore().client.bucket_exists(ingestion_env["S3_BUCKET_RAW"])
    assert not ObjectStore().is_reachable()
