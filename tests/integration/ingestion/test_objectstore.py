"""The minio-client wrapper against a real S3-compatible server: buckets, landing, listing, archiving."""

from __future__ import annotations

import threading
import time

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
    monkeypatch.setenv("OBJECT_STORE_RETRY_SECONDS", "4")
    started = time.monotonic()
    assert not ObjectStore().is_reachable()
    assert time.monotonic() - started < 2, "a probe tries once"
    started = time.monotonic()
    with pytest.raises(
        ObjectStoreUnavailable, match=f"object store at {endpoint} \\(MINIO_ENDPOINT\\) did not"
    ):
        ObjectStore().ensure_buckets()
    assert 3 <= time.monotonic() - started < 15, "retried with backoff for about the budget, then failed"


def test_a_store_that_comes_back_within_the_budget_is_waited_for(ingestion_env, monkeypatch):
    """The store is down when the task starts and back 6 s later: the client's own retries carry the call."""
    from de_sandbox.ingestion.objectstore import ObjectStore
    from de_sandbox.native.objectstore import start_standin
    from de_sandbox.native.processes import free_port, stop_group

    port = free_port()
    monkeypatch.setenv("MINIO_ENDPOINT", f"127.0.0.1:{port}")
    monkeypatch.setenv("OBJECT_STORE_RETRY_SECONDS", "30")
    store = ObjectStore()
    started = time.monotonic()
    timer = threading.Timer(6, lambda: processes.append(start_standin(port)))
    processes: list = []
    timer.start()
    try:
        store.ensure_buckets()
        waited = time.monotonic() - started
        store.put(store.raw_bucket, "k", b"x", "text/plain")
        assert store.get(store.raw_bucket, "k") == b"x"
    finally:
        timer.join()
        for process in processes:
            stop_group(process)
    assert 6 <= waited < 25


def test_the_retry_policy_spans_its_budget():
    from de_sandbox.ingestion.objectstore import retry_policy

    for budget in (4, 30, 60):
        retry = retry_policy(budget)
        waits = [min(0.5 * 2 ** (n - 1), 8.0) if n > 1 else 0.0 for n in range(1, retry.total + 1)]
        assert budget <= sum(waits) < budget + 8.0


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
