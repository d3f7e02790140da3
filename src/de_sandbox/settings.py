"""Every setting of the sandbox, read from the environment (and `.env`) in one place, with defaults beside the repo.

Standard library only at import time: the host-side compose helper imports this module without the venv.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

REPO_ROOT = Path(os.getenv("DE_SANDBOX_ROOT", Path(__file__).resolve().parents[2]))

WAREHOUSES = ("duckdb", "postgres")

# The PostgreSQL server's settings on both platforms (native: `-c` flags of pg_ctl; compose: the postgres
# service's command, checked by `make compose-check`). Small enough for a laptop running Airflow beside it, large
# enough for Airflow's connection pools. work_mem and max_wal_size are sized for a real pageviews hour (6M rows):
# distinct, unique and join checks stay in memory or spill in few batches, and loading and building an hour does
# not force a checkpoint after every 1 GB of WAL.
POSTGRES_SERVER_OPTIONS = {
    "max_connections": "200",
    "shared_buffers": "64MB",
    "work_mem": "64MB",
    "max_wal_size": "4GB",
    "fsync": "on",
    "log_min_messages": "warning",
}


def load_dotenv_file(path: Path | None = None) -> None:
    """Load `.env` into os.environ without overriding variables already set by the caller.

    python-dotenv reads it as Compose does: `export`, quotes, and inline comments after a space.
    """
    from dotenv import load_dotenv

    env_file = path or Path(os.getenv("DE_SANDBOX_ENV_FILE", REPO_ROOT / ".env"))
    if env_file.is_file():
        load_dotenv(env_file, override=False)


def postgres_url(
    user: str, password: str, host: str, port: int, database: str, driver: str = "postgresql+psycopg2"
) -> str:
    """The one Postgres URL builder: user and password quoted, so `@ : / % #` in a password stay data."""
    return f"{driver}://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{database}"


@contextmanager
def overridden_env(**values: str) -> Iterator[None]:
    """Point settings elsewhere for one block (e.g. MINIO_ENDPOINT at a stand-in); the old values come back."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def env_flag(name: str, default: bool) -> bool:
    """A yes/no setting: 1/true/yes or 0/false/no (any case); unset means `default`."""
    value = os.getenv(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes")


def _path(name: str, default: Path) -> Path:
    value = os.getenv(name)
    path = Path(value) if value else default
    return path if path.is_absolute() else (REPO_ROOT / path)


@dataclass(frozen=True)
class Settings:
    """A snapshot of the environment; call `get_settings()` again after changing os.environ."""

    repo_root: Path
    data_dir: Path
    warehouse: str
    duckdb_path: Path
    dbt_project_dir: Path
    dbt_profiles_dir: Path
    gx_root_dir: Path
    seeds_dir: Path
    postgres_host: str
    postgres_port: int
    postgres_user: str
    postgres_password: str
    warehouse_db: str
    airflow_db: str
    # DuckDB spills to disk past this, in dbt's sessions (profiles.yml) and the package's alike.
    duckdb_memory_limit: str = "512MB"

    @property
    def dbt_target(self) -> str:
        return self.warehouse

    def postgres_url(self, database: str, driver: str = "postgresql+psycopg2") -> str:
        return postgres_url(
            self.postgres_user,
            self.postgres_password,
            self.postgres_host,
            self.postgres_port,
            database,
            driver,
        )

    @property
    def postgres_warehouse_url(self) -> str:
        return self.postgres_url(self.warehouse_db)

    @property
    def lineage_dir(self) -> Path:
        """Where Airflow's OpenLineage file transport writes one JSON file per event."""
        return self.data_dir / "lineage"


def get_settings() -> Settings:
    load_dotenv_file()
    data_dir = _path("DATA_DIR", REPO_ROOT / "data")
    warehouse = os.getenv("WAREHOUSE", "duckdb").strip().lower()
    if warehouse not in WAREHOUSES:
        raise ValueError(f"WAREHOUSE={warehouse!r} is not supported; choose one of {', '.join(WAREHOUSES)}")
    return Settings(
        repo_root=REPO_ROOT,
        data_dir=data_dir,
        warehouse=warehouse,
        duckdb_path=_path("DUCKDB_PATH", data_dir / "warehouse.duckdb"),
        dbt_project_dir=_path("DBT_PROJECT_DIR", REPO_ROOT / "dbt"),
        dbt_profiles_dir=_path("DBT_PROFILES_DIR", REPO_ROOT / "dbt"),
        gx_root_dir=_path("GX_ROOT_DIR", REPO_ROOT / "great_expectations"),
        seeds_dir=_path("SEEDS_DIR", REPO_ROOT / "seeds"),
        postgres_host=os.getenv("POSTGRES_HOST", "127.0.0.1"),
        postgres_port=int(os.getenv("POSTGRES_PORT", "5432")),
        postgres_user=os.getenv("POSTGRES_USER", "sandbox"),
        postgres_password=os.getenv("POSTGRES_PASSWORD", "sandbox"),
        warehouse_db=os.getenv("WAREHOUSE_DB", "warehouse"),
        airflow_db=os.getenv("AIRFLOW_DB", "airflow"),
        duckdb_memory_limit=os.getenv("DUCKDB_MEMORY_LIMIT", "512MB"),
    )


@dataclass(frozen=True)
class MonitoringSettings:
    """Settings of the metrics facts store, the project exporter and the native Prometheus."""

    metrics_db_path: Path
    # True when METRICS_DB_PATH is set; else a platform keeps the facts under its own DATA_DIR.
    metrics_db_path_set: bool
    exporter_host: str
    exporter_port: int
    prometheus_port: int
    airflow_api_url: str
    airflow_admin_user: str
    airflow_admin_password: str


def get_monitoring_settings() -> MonitoringSettings:
    load_dotenv_file()
    data_dir = _path("DATA_DIR", REPO_ROOT / "data")
    return MonitoringSettings(
        metrics_db_path=_path("METRICS_DB_PATH", data_dir / "metrics" / "facts.sqlite"),
        metrics_db_path_set=bool(os.getenv("METRICS_DB_PATH")),
        exporter_host=os.getenv("EXPORTER_HOST", "127.0.0.1"),
        exporter_port=int(os.getenv("EXPORTER_PORT", "9108")),
        prometheus_port=int(os.getenv("PROMETHEUS_PORT", "9090")),
        # Empty means the exporter serves pipeline facts only, without DAG run states.
        airflow_api_url=os.getenv("AIRFLOW_API_URL", "").rstrip("/"),
        airflow_admin_user=os.getenv("AIRFLOW_ADMIN_USER", "admin"),
        airflow_admin_password=os.getenv("AIRFLOW_ADMIN_PASSWORD", ""),
    )


# Ingestion pipelines: object store, audit and run ledger. A pipeline's source is its config's `source.location`,
# overridden by the variable its `source.location_setting` names (PAGEVIEWS_SOURCE, STAVANGER_PARKING_URL).


def _source_location(name: str, default: str) -> str:
    """A URL stays as it is; a directory path is made absolute against the repo root."""
    value = os.getenv(name) or default
    if "://" in value or os.path.isabs(value):
        return value
    return str(REPO_ROOT / value)


def pipelines_dir() -> Path:
    """PIPELINES_DIR: the folder of pipeline configs, `<name>.yml` each (default `pipelines/` in the repo)."""
    load_dotenv_file()
    return _path("PIPELINES_DIR", REPO_ROOT / "pipelines")


def pipeline_source(setting: str | None, default: str) -> str:
    """A pipeline's source: the variable its config names (`source.location_setting`) if set, else its
    configured location; a directory is made absolute against the repo root."""
    load_dotenv_file()
    if setting:
        return _source_location(setting, default)
    return default if "://" in default or os.path.isabs(default) else str(REPO_ROOT / default)


@dataclass(frozen=True)
class IngestionSettings:
    minio_endpoint: str
    minio_access_key: str
    minio_secret_key: str
    minio_secure: bool
    bucket_raw: str
    bucket_archive: str
    http_timeout_seconds: float
    object_store_retry_seconds: float
    # None: each pipeline's own `audit.tolerance_pct`; set, it overrides every pipeline's.
    audit_tolerance_pct: float | None
    stale_after_minutes: float


def get_ingestion_settings() -> IngestionSettings:
    load_dotenv_file()
    tolerance = os.getenv("AUDIT_TOLERANCE_PCT", "").strip()
    return IngestionSettings(
        minio_endpoint=os.getenv("MINIO_ENDPOINT", "127.0.0.1:9000"),
        minio_access_key=os.getenv("MINIO_ROOT_USER", "sandbox"),
        minio_secret_key=os.getenv("MINIO_ROOT_PASSWORD", "sandbox"),
        minio_secure=env_flag("MINIO_SECURE", False),
        bucket_raw=os.getenv("S3_BUCKET_RAW", "raw"),
        bucket_archive=os.getenv("S3_BUCKET_ARCHIVE", "archive"),
        http_timeout_seconds=float(os.getenv("INGESTION_HTTP_TIMEOUT_SECONDS", "60")),
        object_store_retry_seconds=float(os.getenv("OBJECT_STORE_RETRY_SECONDS", "60")),
        audit_tolerance_pct=float(tolerance) if tolerance else None,
        stale_after_minutes=float(os.getenv("LEDGER_STALE_AFTER_MINUTES", "60")),
    )


@dataclass(frozen=True)
class CosmosSettings:
    """How Cosmos runs dbt nodes (validated against Cosmos's own enums in orchestration.cosmos)."""

    execution_mode: str
    invocation_mode: str
    # Empty: the execution mode's own default (orchestration.cosmos.test_behavior).
    test_behavior: str
    # dag.test() runs (make demo/run, the embedded runtime) have no triggerer: LOCAL, or WATCHER with every
    # consumer behind the producer (COSMOS_EMBEDDED_EXECUTION_MODE; empty: the command's own default).
    embedded: bool = False
    embedded_execution_mode: str = ""


def get_cosmos_settings() -> CosmosSettings:
    load_dotenv_file()
    return CosmosSettings(
        execution_mode=os.getenv("COSMOS_EXECUTION_MODE", "watcher").strip().lower(),
        invocation_mode=os.getenv("COSMOS_INVOCATION_MODE", "dbt_runner").strip().lower(),
        test_behavior=os.getenv("COSMOS_TEST_BEHAVIOR", "").strip().lower(),
        embedded=os.getenv("DE_SANDBOX_RUNTIME", "").strip().lower() == "embedded",
        embedded_execution_mode=os.getenv("COSMOS_EMBEDDED_EXECUTION_MODE", "").strip().lower(),
    )


PLACEHOLDER_SECRET = "change-me"
EXECUTORS = ("LocalExecutor", "CeleryExecutor")


def _choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = os.getenv(name) or default
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not supported; choose one of {', '.join(allowed)}")
    return value


@dataclass(frozen=True)
class PlatformSettings:
    """The native platform's ports, login and secrets (the same names compose reads from .env)."""

    airflow_port: int
    admin_user: str
    admin_password: str
    fernet_key: str
    jwt_secret: str
    prometheus_port: int
    exporter_port: int
    # false starts a plain `airflow scheduler` (tasks then import dbt themselves).
    scheduler_preload: bool
    # LocalExecutor, or CeleryExecutor: Redis and `celery_workers` workers join the platform.
    executor: str
    celery_workers: int
    redis_port: int
    redis_password: str

    @property
    def celery(self) -> bool:
        return self.executor == "CeleryExecutor"

    def require_secrets(self) -> None:
        """Fail naming the first secret that is unset or still the .env.example placeholder."""
        required = [
            ("AIRFLOW_ADMIN_PASSWORD", self.admin_password),
            ("AIRFLOW_FERNET_KEY", self.fernet_key),
            ("AIRFLOW_JWT_SECRET", self.jwt_secret),
        ]
        if self.celery:
            required.append(("REDIS_PASSWORD", self.redis_password))
        for name, value in required:
            if not value or value == PLACEHOLDER_SECRET:
                raise RuntimeError(
                    f"{name} is not set: set it in .env (`de-sandbox init-env` writes one if missing)"
                )


def get_platform_settings() -> PlatformSettings:
    load_dotenv_file()
    return PlatformSettings(
        airflow_port=int(os.getenv("AIRFLOW_PORT", "8080")),
        admin_user=os.getenv("AIRFLOW_ADMIN_USER", "admin"),
        admin_password=os.getenv("AIRFLOW_ADMIN_PASSWORD", ""),
        fernet_key=os.getenv("AIRFLOW_FERNET_KEY", ""),
        jwt_secret=os.getenv("AIRFLOW_JWT_SECRET", ""),
        prometheus_port=int(os.getenv("PROMETHEUS_PORT", "9090")),
        exporter_port=int(os.getenv("EXPORTER_PORT", "9108")),
        scheduler_preload=env_flag("SCHEDULER_PRELOAD", True),
        executor=_choice("AIRFLOW_EXECUTOR", "LocalExecutor", EXECUTORS),
        celery_workers=int(os.getenv("CELERY_WORKERS", "2")),
        redis_port=int(os.getenv("REDIS_PORT", "6379")),
        redis_password=os.getenv("REDIS_PASSWORD", ""),
    )


def runtime() -> str:
    """Which platform this process belongs to: `native` or `compose` (each sets DE_SANDBOX_RUNTIME itself)."""
    return "compose" if os.getenv("DE_SANDBOX_RUNTIME", "native").strip().lower() == "compose" else "native"


def published_port(name: str, default: int) -> int:
    """A host port from .env by its name (AIRFLOW_PORT, GRAFANA_PORT, ...), for links shown to users."""
    load_dotenv_file()
    return int(os.getenv(name) or default)


def bench_ingest_dir() -> Path:
    """BENCH_INGEST_DIR: where `make bench-ingest` caches its synthetic hours (default data/bench-ingest)."""
    load_dotenv_file()
    return _path("BENCH_INGEST_DIR", _path("DATA_DIR", REPO_ROOT / "data") / "bench-ingest")


BENCH_PROJECTS = ("example", "scale")
# The scale bench: its dbt project and the DAG that runs it (outside dags/, so users never see it).
SCALE_BENCH_PROJECT_DIR = REPO_ROOT / "bench" / "scale_project"
BENCH_DAGS_DIR = REPO_ROOT / "bench" / "dags"
MIN_BENCH_ROWS = 1_000


@dataclass(frozen=True)
class BenchSettings:
    """`make bench`'s arguments: which project, how many fact rows, which warehouse and modes, where to write JSON."""

    project: str
    rows: int
    warehouse: str
    modes: str
    json_path: Path | None
    # Generated data is cached here per row count; the bench's own warehouse file and PostgreSQL live here too.
    data_dir: Path


def get_bench_settings(default_modes: str = "local:dbt_runner") -> BenchSettings:
    """Read BENCH_*; a bad value raises ValueError with one line naming the variable and what it accepts."""
    load_dotenv_file()
    project = _choice("BENCH_PROJECT", "example", BENCH_PROJECTS)
    warehouse = _choice("BENCH_WAREHOUSE", "duckdb", WAREHOUSES)
    raw_rows = (os.getenv("BENCH_ROWS") or "1000000").strip()
    try:
        rows = int(raw_rows.replace(",", "_"))
    except ValueError:
        rows = 0
    if rows < MIN_BENCH_ROWS:
        raise ValueError(
            f"BENCH_ROWS={raw_rows!r} is not a whole number of at least {MIN_BENCH_ROWS:,} (e.g. 1000000)"
        )
    json_path = os.getenv("BENCH_JSON")
    return BenchSettings(
        project=project,
        rows=rows,
        warehouse=warehouse,
        modes=os.getenv("BENCH_MODES") or default_modes,
        json_path=Path(json_path).absolute() if json_path else None,
        data_dir=_path("BENCH_DATA_DIR", _path("DATA_DIR", REPO_ROOT / "data") / "bench"),
    )
