"""An S3-compatible stand-in for MinIO outside compose: moto's server on 127.0.0.1, objects in memory only.

moto has no on-disk persistence, so objects vanish when the server stops; MinIO (compose) is the real store.
`make local-up` runs it as the platform's `object-store` service; `make run` starts one for a single run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from de_sandbox.ingestion.objectstore import ObjectStore
from de_sandbox.native.processes import LOOPBACK, free_port, is_listening, start_group, stop_group
from de_sandbox.native.spec import ServiceSpec
from de_sandbox.settings import get_ingestion_settings, overridden_env

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def standin_argv(port: int, host: str = LOOPBACK) -> list[str]:
    return [sys.executable, "-m", "moto.server", "-H", host, "-p", str(port)]


def loopback_port(endpoint: str) -> int | None:
    """The port of a `host:port` endpoint on this machine's loopback, else None (a store elsewhere)."""
    host, _, port = endpoint.rpartition(":")
    return int(port) if host in LOOPBACK_HOSTS and port.isdigit() else None


def start_standin(port: int, host: str = LOOPBACK, timeout: float = 30.0) -> subprocess.Popen:
    """Start moto's S3 server as a child process in its own process group and wait until it listens."""
    process = start_group(standin_argv(port, host))
    deadline = time.monotonic() + timeout
    while not is_listening(port, host):
        if process.poll() is not None:
            raise RuntimeError(
                f"S3 stand-in (moto server) exited with code {process.returncode} on port {port}"
            )
        if time.monotonic() > deadline:
            stop_group(process)
            raise RuntimeError(f"S3 stand-in (moto server) did not listen on {host}:{port} within {timeout}s")
        time.sleep(0.1)
    return process


@contextmanager
def s3_standin(port: int | None = None) -> Iterator[str]:
    """Run the stand-in for the duration of the block; yields its endpoint `127.0.0.1:<port>`."""
    port = port or free_port()
    process = start_standin(port)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stop_group(process)


@contextmanager
def object_store_available() -> Iterator[str]:
    """Make MINIO_ENDPOINT usable for one run: use it when it answers, else start the stand-in behind it.

    For `make run` outside a platform. When the configured port is taken by something that is not S3, the
    stand-in gets a free port and MINIO_ENDPOINT points at it until the block ends.
    """
    settings = get_ingestion_settings()
    if ObjectStore(settings).is_reachable():
        ObjectStore(settings).ensure_buckets()
        yield settings.minio_endpoint
        return
    port = loopback_port(settings.minio_endpoint)
    if not port or is_listening(port):
        port = free_port()
    with s3_standin(port) as endpoint, overridden_env(MINIO_ENDPOINT=endpoint):
        ObjectStore().ensure_buckets()
        print(f"[de-sandbox] object store not reachable; S3 stand-in (moto, in-memory) on {endpoint}")
        yield endpoint


def object_store_services(minio_endpoint: str) -> list[ServiceSpec]:
    """The stand-in as `make local-up`'s `object-store` service, on the port of the platform's MINIO_ENDPOINT.

    None when MINIO_ENDPOINT is not on this machine's loopback: the tasks then use that store as it is.
    """
    port = loopback_port(minio_endpoint)
    if port is None:
        return []
    store = ObjectStore(dataclasses.replace(get_ingestion_settings(), minio_endpoint=minio_endpoint))

    def ready() -> bool:
        """Answers S3 calls, with the raw and archive buckets in place (the port first: the S3 client retries
        and logs a warning per refused connection)."""
        if not is_listening(port) or not store.is_reachable():
            return False
        store.ensure_buckets()
        return True

    return [
        ServiceSpec(
            "object-store",
            standin_argv(port),
            ready,
            ports=(port,),
            url=f"http://{LOOPBACK}:{port}",
            note="S3 stand-in (moto): objects live in memory until local-down",
        )
    ]


def _serve(args: argparse.Namespace) -> int:
    settings = get_ingestion_settings()
    port = args.port or loopback_port(settings.minio_endpoint) or free_port()
    process = start_standin(port)
    os.environ["MINIO_ENDPOINT"] = f"{LOOPBACK}:{port}"
    ObjectStore().ensure_buckets()
    print(f"[de-sandbox] S3 stand-in (moto, in-memory) on {LOOPBACK}:{port}", flush=True)
    try:
        return process.wait()
    except KeyboardInterrupt:
        stop_group(process)
        return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "s3-standin", help="serve an in-memory S3 stand-in (moto) on 127.0.0.1 with the raw/archive buckets"
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: the one in MINIO_ENDPOINT)")
    parser.set_defaults(func=_serve)
