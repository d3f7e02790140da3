"""Celery on the native platform (`AIRFLOW_EXECUTOR=CeleryExecutor make local-up`): Debian's redis-server as the
broker, on loopback with a password from .env, and CELERY_WORKERS Airflow Celery workers; the same settings
compose's `celery` profile uses (broker and result backend URLs, one Redis password)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from de_sandbox.native.apt import ensure_apt_packages
from de_sandbox.native.processes import LOOPBACK
from de_sandbox.native.spec import ServiceSpec
from de_sandbox.settings import Settings

CELERY_EXECUTOR = "CeleryExecutor"
# Task slots per worker: two workers of two beside the scheduler fit a 2-core laptop.
WORKER_CONCURRENCY = 2


def broker_url(port: int, password: str, host: str = LOOPBACK) -> str:
    return f"redis://:{quote(password, safe='')}@{host}:{port}/0"


def celery_env(settings: Settings, redis_port: int, redis_password: str) -> dict[str, str]:
    """What switches Airflow to Celery: the executor, the broker, and task results in the metadata database."""
    return {
        "AIRFLOW__CORE__EXECUTOR": CELERY_EXECUTOR,
        "AIRFLOW__CELERY__BROKER_URL": broker_url(redis_port, redis_password),
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + settings.postgres_url(settings.airflow_db, "postgresql"),
    }


def redis_answers(port: int, password: str) -> Callable[[], bool]:
    """AUTH then PING over the Redis protocol: the broker is up and takes our password."""

    def check() -> bool:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1) as sock:
                sock.sendall(f"AUTH {password}\r\nPING\r\n".encode())
                reply = b""
                while reply.count(b"\r\n") < 2:
                    chunk = sock.recv(256)
                    if not chunk:
                        break
                    reply += chunk
            return reply == b"+OK\r\n+PONG\r\n"
        except OSError:
            return False

    return check


def redis_service(home: Path, port: int, password: str) -> ServiceSpec:
    """redis-server with its password in a config file of mode 600, never on a command line `ps` shows."""
    ensure_apt_packages(["redis-server"])
    home.mkdir(parents=True, exist_ok=True)
    config = home / "redis.conf"
    config.touch(mode=0o600)
    config.write_text(
        f"bind {LOOPBACK}\nport {port}\nprotected-mode yes\nrequirepass {password}\n"
        f'dir {home}\nsave ""\nappendonly no\nloglevel warning\n'
    )
    config.chmod(0o600)
    return ServiceSpec(
        "redis",
        ["redis-server", str(config)],
        redis_answers(port, password),
        ports=(port,),
        url=f"redis://{LOOPBACK}:{port}",
        note="Celery broker (password in .env: REDIS_PASSWORD)",
    )


def worker_name(number: int) -> str:
    return f"worker-{number}@{socket.gethostname()}"


def worker_answers(name: str, broker: str) -> Callable[[], bool]:
    """The worker replies to a Celery ping over the broker."""

    def check() -> bool:
        from celery import Celery

        app = Celery(broker=broker)
        try:
            return bool(app.control.ping(destination=[name], timeout=1.0))
        except Exception:  # noqa: BLE001 - broker not up yet, connection refused: not healthy yet
            return False
        finally:
            app.close()

    return check


def worker_services(count: int, run_dir: Path, broker: str, preload: bool) -> list[ServiceSpec]:
    """CELERY_WORKERS workers, each with its own Celery name and pid file; tasks fork from a preloaded parent."""
    airflow = (
        [sys.executable, "-m", "de_sandbox.native.preload"]
        if preload
        else [str(Path(sys.executable).parent / "airflow")]
    )
    return [
        ServiceSpec(
            f"celery-worker-{number}",
            [
                *airflow,
                *["celery", "worker", "--celery-hostname", worker_name(number)],
                *[
                    "--concurrency",
                    str(WORKER_CONCURRENCY),
                    "--pid",
                    str(run_dir / f"celery-worker-{number}.celery.pid"),
                ],
                "--skip-serve-logs",
            ],
            worker_answers(worker_name(number), broker),
            note=f"Celery worker {worker_name(number)}",
        )
        for number in range(1, count + 1)
    ]
