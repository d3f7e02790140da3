"""The object store (MinIO or an S3-compatible stand-in) through the `minio` client: land, read, archive."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import S3Error

from de_sandbox.settings import IngestionSettings, get_ingestion_settings

# A fixed region spares the client a GetBucketLocation round trip and suits MinIO and the stand-in alike.
REGION = "us-east-1"
# Backoff between retries doubles from 1 s up to this cap (urllib3's Retry).
BACKOFF_CAP_S = 8.0


def retry_policy(budget_seconds: float) -> urllib3.Retry:
    """urllib3's Retry with exponential backoff (0, 1, 2, 4, 8, 8, ... s) spanning about `budget_seconds`:
    a store that restarts within the budget is waited for, one that stays down fails the task after it."""
    retries, waited = 0, 0.0
    while waited < budget_seconds:
        retries += 1
        waited += 0.0 if retries == 1 else min(0.5 * 2 ** (retries - 1), BACKOFF_CAP_S)
    return urllib3.Retry(
        total=retries,
        backoff_factor=0.5,
        backoff_max=BACKOFF_CAP_S,
        status_forcelist=[500, 502, 503, 504],
        raise_on_status=False,
    )


def _client(settings: IngestionSettings, retries: urllib3.Retry | int) -> Minio:
    return Minio(
        settings.minio_endpoint,
        access_key=settings.minio_access_key,
        secret_key=settings.minio_secret_key,
        secure=settings.minio_secure,
        region=REGION,
        http_client=urllib3.PoolManager(timeout=urllib3.Timeout(connect=5, read=60), retries=retries),
    )


class ObjectStoreUnavailable(RuntimeError):
    """The store at MINIO_ENDPOINT does not answer."""


@dataclass(frozen=True)
class StoredObject:
    bucket: str
    key: str
    size: int


class ObjectStore:
    """Thin wrapper over `minio.Minio` with the two buckets of the sandbox: raw landing and archive."""

    def __init__(self, settings: IngestionSettings | None = None) -> None:
        self.settings = settings or get_ingestion_settings()
        self.client = _client(self.settings, retry_policy(self.settings.object_store_retry_seconds))
        self.raw_bucket = self.settings.bucket_raw
        self.archive_bucket = self.settings.bucket_archive

    def ensure_buckets(self) -> None:
        """Create the raw and archive buckets when missing; the first call of every task that uses the store."""
        try:
            for bucket in (self.raw_bucket, self.archive_bucket):
                if not self.client.bucket_exists(bucket):
                    self.client.make_bucket(bucket)
        except urllib3.exceptions.HTTPError as exc:
            raise ObjectStoreUnavailable(
                f"object store at {self.settings.minio_endpoint} (MINIO_ENDPOINT) did not answer for "
                f"{self.settings.object_store_retry_seconds:g} s (OBJECT_STORE_RETRY_SECONDS): start it with "
                "`make local-up` (native) or `make up` (compose); `make run` starts a stand-in by itself"
            ) from exc

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> StoredObject:
        self.client.put_object(bucket, key, io.BytesIO(data), len(data), content_type=content_type)
        return StoredObject(bucket, key, len(data))

    def put_file(self, bucket: str, key: str, path: Path, content_type: str) -> StoredObject:
        """Stream a file to the store in parts, never holding it whole in memory."""
        self.client.fput_object(bucket, key, str(path), content_type=content_type)
        return StoredObject(bucket, key, path.stat().st_size)

    def get_file(self, bucket: str, key: str, path: Path) -> Path:
        """Stream an object to a local file."""
        self.client.fget_object(bucket, key, str(path))
        return path

    def get(self, bucket: str, key: str) -> bytes:
        response = self.client.get_object(bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.client.stat_object(bucket, key)
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise
        return True

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        return sorted(
            obj.object_name for obj in self.client.list_objects(bucket, prefix=prefix, recursive=True)
        )

    def archive(self, key: str) -> StoredObject:
        """Move one processed object from the raw bucket to the same key in the archive bucket."""
        self.client.copy_object(self.archive_bucket, key, CopySource(self.raw_bucket, key))
        size = self.client.stat_object(self.archive_bucket, key).size
        self.client.remove_object(self.raw_bucket, key)
        return StoredObject(self.archive_bucket, key, size)

    def is_reachable(self) -> bool:
        """One quick try, no retries: for probes that poll."""
        try:
            _client(self.settings, retries=0).list_buckets()
        except Exception:  # noqa: BLE001 - any connection or auth failure means "not usable"
            return False
        return True
