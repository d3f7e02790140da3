"""The native long-running platform: PostgreSQL plus Airflow api-server, scheduler, dag-processor, triggerer.

Every service is a `ServiceSpec` started in its own process group, with pid file and log under DATA_DIR,
bound to 127.0.0.1. `make local-up` / `local-down` / `local-clean` call `up()`, `down()` and `clean()`.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import os
import secrets
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from de_sandbox.airflow_env import airflow_env
from de_sandbox.dbt.project import dbt_executable, ensure_manifest
from de_sandbox.envfile import ensure_env_file
from de_sandbox.native.airflow import airflow_services, prepare_airflow
from de_sandbox.native.celery import CELERY_EXECUTOR, broker_url, celery_env, redis_service, worker_services
from de_sandbox.native.keeper import describe_exit
from de_sandbox.native.monitoring import monitoring_services
from de_sandbox.native.objectstore import object_store_services
from de_sandbox.native.postgres import LocalPostgres
from de_sandbox.native.processes import LOOPBACK, free_port, is_listening
from de_sandbox.native.spec import ServiceSpec
from de_sandbox.native.supervisor import Supervisor
from de_sandbox.settings import (
    REPO_ROOT,
    Settings,
    get_ingestion_settings,
    get_platform_settings,
    get_settings,
)

HEALTH_TIMEOUT_S = 120


@dataclass(frozen=True)
class Platform:
    """Paths and settings of one native platform instance (one DATA_DIR)."""

    settings: Settings
    airflow_port: int
    admin_user: str
    admin_password: str
    fernet_key: str
    jwt_secret: str
    dags_folder: Path
    prometheus_port: int
    exporter_port: int
    minio_endpoint: str
    scheduler_preload: bool = True
    executor: str = "LocalExecutor"
    celery_workers: int = 2
    redis_port: int = 6379
    redis_password: str = ""

    @classmethod
    def from_settings(cls, settings: Settings | None = None, dags_folder: Path | None = None) -> Platform:
        settings = settings or get_settings()
        platform = get_platform_settings()
        platform.require_secrets()
        return cls(
            settings=settings,
            airflow_port=platform.airflow_port,
            admin_user=platform.admin_user,
            admin_password=platform.admin_password,
            fernet_key=platform.fernet_key,
            jwt_secret=platform.jwt_secret,
            dags_folder=dags_folder or settings.repo_root / "dags",
            prometheus_port=platform.prometheus_port,
            exporter_port=platform.exporter_port,
            minio_endpoint=get_ingestion_settings().minio_endpoint,
            scheduler_preload=platform.scheduler_preload,
            executor=platform.executor,
            celery_workers=platform.celery_workers,
            redis_port=platform.redis_port,
            redis_password=platform.redis_password,
        )

    @classmethod
    def throwaway(
        cls, data_dir: Path, warehouse: str = "postgres", executor: str = "LocalExecutor"
    ) -> Platform:
        """A private platform under `data_dir` on free ports with fresh secrets, beside any other one: for tests
        and benchmarks. The DAGs and the GX context are copies, so nothing is written into the repository."""
        dags_folder = data_dir / "dags"
        shutil.copytree(REPO_ROOT / "dags", dags_folder, ignore=shutil.ignore_patterns("__pycache__"))
        gx_root = shutil.copytree(
            REPO_ROOT / "great_expectations", data_dir / "gx", ignore=shutil.ignore_patterns("uncommitted")
        )
        settings = dataclasses.replace(
            get_settings(),
            data_dir=data_dir,
            gx_root_dir=gx_root,
            warehouse=warehouse,
            duckdb_path=data_dir / "warehouse.duckdb",
            postgres_host=LOOPBACK,
            postgres_port=free_port(),
            postgres_user="sandbox",
            # URL-special characters on purpose: every client must quote the password (tested end to end).
            postgres_password=f"{secrets.token_urlsafe(12)}@:/%#",
        )
        return cls(
            settings=settings,
            airflow_port=free_port(),
            admin_user="admin",
            admin_password=secrets.token_urlsafe(12),
            fernet_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
            jwt_secret=secrets.token_urlsafe(32),
            dags_folder=dags_folder,
            prometheus_port=free_port(),
            exporter_port=free_port(),
            minio_endpoint=f"{LOOPBACK}:{free_port()}",
            scheduler_preload=get_platform_settings().scheduler_preload,
            executor=executor,
            redis_port=free_port(),
            redis_password=secrets.token_urlsafe(24),
        )

    @property
    def postgres(self) -> LocalPostgres:
        return LocalPostgres.from_settings(self.settings)

    @property
    def airflow_home(self) -> Path:
        return self.settings.data_dir / "airflow"

    @property
    def run_dir(self) -> Path:
        return Supervisor(self.settings.data_dir).run_dir

    @property
    def log_dir(self) -> Path:
        return Supervisor(self.settings.data_dir).log_dir

    @property
    def celery(self) -> bool:
        return self.executor == CELERY_EXECUTOR

    @property
    def broker_url(self) -> str:
        return broker_url(self.redis_port, self.redis_password)

    @property
    def api_url(self) -> str:
        return f"http://{LOOPBACK}:{self.airflow_port}"

    def env(self) -> dict[str, str]:
        """Environment of every Airflow process: the shared Airflow env plus this platform's servers and secrets."""
        s = self.settings
        passwords_file = self.airflow_home / "simple_auth_manager_passwords.json"
        native = {
            **self.postgres.env(),
            "SEEDS_DIR": str(s.seeds_dir),
            "MINIO_ENDPOINT": self.minio_endpoint,
            # The portal's Health page checks these services where this platform runs them.
            "DE_SANDBOX_RUNTIME": "native",
            "PROMETHEUS_PORT": str(self.prometheus_port),
            "EXPORTER_PORT": str(self.exporter_port),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__FERNET_KEY": self.fernet_key,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.admin_user}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file),
            "AIRFLOW__API__HOST": LOOPBACK,
            "AIRFLOW__API__PORT": str(self.airflow_port),
            "AIRFLOW__API__BASE_URL": self.api_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": self.jwt_secret,
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            # Health comes from the api-server's monitor here; compose's healthcheck needs the scheduler's own server.
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            **(celery_env(s, self.redis_port, self.redis_password) if self.celery else {}),
        }
        return {**os.environ, **airflow_env(s, self.airflow_home, self.postgres.url(s.airflow_db), native)}

    def services(self) -> list[ServiceSpec]:
        """Airflow, the S3 stand-in (when MINIO_ENDPOINT is on loopback), Prometheus and the exporter; with
        Celery, Redis and the workers too."""
        celery = []
        if self.celery:
            celery = [
                redis_service(self.settings.data_dir / "redis", self.redis_port, self.redis_password),
                *worker_services(self.celery_workers, self.run_dir, self.broker_url, self.scheduler_preload),
            ]
        return [
            *airflow_services(self.airflow_port, self.scheduler_preload),
            *celery,
            *object_store_services(self.minio_endpoint),
            *monitoring_services(
                self.settings.data_dir,
                self.prometheus_port,
                self.exporter_port,
                self.api_url,
                (self.admin_user, self.admin_password),
            ),
        ]

    def metadata_schema_exists(self) -> bool:
        with closing(self.postgres.connect(self.settings.airflow_db)) as conn, conn.cursor() as cur:
            cur.execute("select to_regclass('public.alembic_version') is not null")
            return bool(cur.fetchone()[0])


def up(platform: Platform, timeout: float = HEALTH_TIMEOUT_S) -> float:
    """Start everything that is not running yet and wait until all is healthy; returns the seconds it took."""
    started_at = time.monotonic()
    for folder in (platform.run_dir, platform.log_dir, platform.airflow_home):
        folder.mkdir(parents=True, exist_ok=True)
    platform.postgres.start()
    env = platform.env()
    # The example DAG renders from the dbt manifest: parsed before the dag-processor first reads it, while
    # Airflow's metadata database migrates (two processes, two cores: 6 + 8 s one after the other).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbt-parse") as parse:
        manifest = parse.submit(ensure_manifest, platform.settings, dbt_executable())
        prepare_airflow(
            platform.airflow_home,
            env,
            (platform.admin_user, platform.admin_password),
            platform.log_dir / "airflow-migrate.log",
            platform.metadata_schema_exists,
        )
        manifest.result()
    supervisor = Supervisor(platform.settings.data_dir)
    specs = platform.services()
    started = [spec.name for spec in specs if supervisor.start(spec, env)]
    try:
        supervisor.wait_healthy(specs, timeout, frozenset(started))
    except BaseException:
        supervisor.stop(started)
        raise
    return time.monotonic() - started_at


def down(platform: Platform) -> None:
    """Stop every service this DATA_DIR started, then PostgreSQL."""
    Supervisor(platform.settings.data_dir).stop([spec.name for spec in platform.services()])
    platform.postgres.stop()


def clean(platform: Platform) -> None:
    """Stop everything and delete its state: databases, DuckDB file, Airflow home, dbt artefacts, logs."""
    down(platform)
    platform.postgres.wipe()
    data_dir = platform.settings.data_dir
    cosmos_cache = Path(platform.env()["AIRFLOW__COSMOS__CACHE_DIR"])
    for folder in (
        platform.airflow_home,
        platform.run_dir,
        platform.log_dir,
        data_dir / "dbt",
        cosmos_cache,
        data_dir / "prometheus",
        data_dir / "metrics",
    ):
        shutil.rmtree(folder, ignore_errors=True)
    duckdb_path = platform.settings.duckdb_path
    for path in (duckdb_path, duckdb_path.with_name(duckdb_path.name + ".wal")):
        path.unlink(missing_ok=True)


def status(platform: Platform) -> dict[str, bool]:
    supervisor = Supervisor(platform.settings.data_dir)
    result = {"postgres": platform.postgres.is_running()}
    result.update({spec.name: supervisor.running(spec.name) is not None for spec in platform.services()})
    return result


def summary(platform: Platform, seconds: float | None = None) -> str:
    s = platform.settings
    rows = [
        ("Airflow UI", platform.api_url, f"login {platform.admin_user} (AIRFLOW_ADMIN_PASSWORD in .env)"),
        ("Airflow REST API", f"{platform.api_url}/api/v2", "token: POST /auth/token"),
        ("PostgreSQL", f"{s.postgres_host}:{s.postgres_port}", f"user {s.postgres_user} (password in .env)"),
        (
            "  databases",
            f"{s.airflow_db} (Airflow), {s.warehouse_db} (warehouse)",
            f"WAREHOUSE={s.warehouse}",
        ),
        ("Logs, pid files", str(platform.log_dir), str(platform.run_dir)),
    ]
    rows += [
        (spec.name, spec.url, spec.note)
        for spec in platform.services()
        if spec.url and spec.url != platform.api_url
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"  {name:<{width}}  {where}  {note}".rstrip() for name, where, note in rows]
    header = "native platform is up" + (f" (healthy after {seconds:.1f} s)" if seconds is not None else "")
    return "\n".join([header, *lines])


def _cmd_up(args: argparse.Namespace) -> int:
    ensure_env_file()
    platform = Platform.from_settings()
    seconds = up(platform, timeout=args.timeout)
    print(summary(platform, seconds), flush=True)
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    platform = Platform.from_settings()
    down(platform)
    leftovers = [spec.name for spec in platform.services() for p in spec.ports if is_listening(p)]
    print("native platform stopped" + (f"; still listening: {leftovers}" if leftovers else ""), flush=True)
    return 1 if leftovers else 0


def _cmd_clean(args: argparse.Namespace) -> int:
    clean(Platform.from_settings())
    print("native platform stopped and its data wiped", flush=True)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    platform = Platform.from_settings()
    states = status(platform)
    supervisor = Supervisor(platform.settings.data_dir)
    print(f"  {'service':<14} {'state':<8} {'restarts':>8}  last exit")
    for name, running in states.items():
        kept = supervisor.keeper_state(name)
        restarts = str(kept.restarts) if kept else "-"
        last_exit = describe_exit(kept.last_exit) if kept else "-"
        print(f"  {name:<14} {'running' if running else 'stopped':<8} {restarts:>8}  {last_exit}")
    return 0 if all(states.values()) else 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("local-up", help="start the native platform (PostgreSQL + Airflow)")
    parser.add_argument("--timeout", type=float, default=HEALTH_TIMEOUT_S, help="seconds to wait for health")
    parser.set_defaults(func=_cmd_up)
    subparsers.add_parser("local-down", help="stop every process of the native platform").set_defaults(
        func=_cmd_down
    )
    subparsers.add_parser("local-clean", help="stop the native platform and wipe its data").set_defaults(
        func=_cmd_clean
    )
    subparsers.add_parser("local-status", help="show which native services run").set_defaults(
        func=_cmd_status
    )
