"""Every setting of the sandbox, read from the environment (and `.env`) in one place, with defaults beside the repo."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(os.getenv("DE_SANDBOX_ROOT", Path(__file__).resolve().parents[2]))

WAREHOUSES = ("duckdb", "postgres")


def load_dotenv_file(path: Path | None = None) -> None:
    """Load `.env` into os.environ without overriding variables already set by the caller."""
    env_file = path or Path(os.getenv("DE_SANDBOX_ENV_FILE", REPO_ROOT / ".env"))
    if not env_file.is_file():
        return
    for raw in env_file.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key, value = key.strip().removeprefix("export ").strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(key, value)


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

    @property
    def dbt_target(self) -> str:
        return self.warehouse

    @property
    def postgres_warehouse_url(self) -> str:
        return (
            f"postgresql+psycopg2://{self.postgres_user}:{self.postgres_password}"
            f"@{self.postgres_host}:{self.postgres_port}/{self.warehouse_db}"
        )


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
    )


@dataclass(frozen=True)
class MonitoringSettings:
    """Settings of the metrics facts store, the project exporter and the native Prometheus."""

    metrics_db_path: Path
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
        exporter_host=os.getenv("EXPORTER_HOST", "127.0.0.1"),
        exporter_port=int(os.getenv("EXPORTER_PORT", "9108")),
        prometheus_port=int(os.getenv("PROMETHEUS_PORT", "9090")),
        # Empty means the exporter serves pipeline facts only, without DAG run states.
        airflow_api_url=os.getenv("AIRFLOW_API_URL", "").rstrip("/"),
        airflow_admin_user=os.getenv("AIRFLOW_ADMIN_USER", "admin"),
        airflow_admin_password=os.getenv("AIRFLOW_ADMIN_PASSWORD", ""),
    )


# Ingestion pipelines (wikipedia_pageviews, stavanger_parking): object store, sources, audit and run ledger.
DEFAULT_PAGEVIEWS_SOURCE = "seeds/wikipedia_pageviews"
DEFAULT_PARKING_SOURCE = "seeds/stavanger_parking"


def _source_location(name: str, default: str) -> str:
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
        minio_secure=env_flag("MINIO_SECURE", False),
        bucket_raw=os.getenv("S3_BUCKET_RAW", "raw"),
        bucket_archive=os.getenv("S3_BUCKET_ARCHIVE", "archive"),
        pageviews_source=_source_location("PAGEVIEWS_SOURCE", DEFAULT_PAGEVIEWS_SOURCE),
        parking_source=_source_location("STAVANGER_PARKING_URL", DEFAULT_PARKING_SOURCE),
        http_timeout_seconds=float(os.getenv("INGESTION_HTTP_TIMEOUT_SECONDS", "60")),
        audit_tolerance_pct=float(os.getenv("AUDIT_TOLERANCE_PCT", "0")),
        stale_after_minutes=float(os.getenv("LEDGER_STALE_AFTER_MINUTES", "60")),
    )
