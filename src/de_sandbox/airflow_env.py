"""Airflow configuration as environment variables: one function builds it for embedded runs and the platform."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from de_sandbox.settings import Settings

_MIGRATED_STAMP = ".migrated-{version}"

# OpenLineage job namespace of every DAG and dbt model of the sandbox.
LINEAGE_NAMESPACE = "de_sandbox"


def warehouse_conn_uri(settings: Settings) -> str:
    """AIRFLOW_CONN_WAREHOUSE for the selected warehouse (DuckDB file or the Postgres warehouse database)."""
    if settings.warehouse == "duckdb":
        return f"duckdb://{settings.duckdb_path}"
    return settings.postgres_url(settings.warehouse_db, driver="postgres")


def lineage_transport(settings: Settings) -> str:
    """[openlineage] transport: the client's file transport, a timestamped file per event (no shared appends)."""
    return json.dumps(
        {"type": "file", "log_file_path": str(settings.lineage_dir / "events"), "append": False}
    )


def airflow_env(settings: Settings, airflow_home: Path, metadata_url: str) -> dict[str, str]:
    """Everything Airflow reads, as AIRFLOW__* variables: no airflow.cfg edits anywhere."""
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.repo_root / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "120",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
        "AIRFLOW__COSMOS__CACHE_DIR": str(settings.data_dir / "cosmos-cache"),
        "AIRFLOW__COSMOS__ENABLE_CACHE": "True",
        # No telemetry: the sandbox may run offline, and a blocked call costs a timeout per task.
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        # Cosmos's per-model assets in Airflow 3's URI form (postgres://host:port/db/schema/table), no warning.
        "AIRFLOW__COSMOS__USE_DATASET_AIRFLOW3_URI_STANDARD": "True",
        # OpenLineage events of every task, one JSON file each, read by `de-sandbox lineage`.
        "AIRFLOW__OPENLINEAGE__TRANSPORT": lineage_transport(settings),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": LINEAGE_NAMESPACE,
        "DO_NOT_TRACK": "1",
        "SCARF_NO_ANALYTICS": "true",
        "AIRFLOW_CONN_WAREHOUSE": warehouse_conn_uri(settings),
        "DATA_DIR": str(settings.data_dir),
        "DUCKDB_PATH": str(settings.duckdb_path),
        "WAREHOUSE": settings.warehouse,
        "DBT_PROJECT_DIR": str(settings.dbt_project_dir),
        "DBT_PROFILES_DIR": str(settings.dbt_profiles_dir),
        "GX_ROOT_DIR": str(settings.gx_root_dir),
    }


def embedded_env(settings: Settings) -> dict[str, str]:
    """Airflow on SQLite under the data folder: what `make demo` and `make run` use."""
    home = settings.data_dir / "airflow-embedded"
    return airflow_env(settings, home, f"sqlite:///{home / 'airflow.db'}")


def apply(env: dict[str, str]) -> None:
    """Export into this process; call before the first `import airflow`."""
    os.environ.update(env)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    ensure_lineage_dir(env)


def ensure_lineage_dir(env: dict[str, str]) -> None:
    """The file transport does not create its folder: without it every lineage event is lost."""
    transport = json.loads(env.get("AIRFLOW__OPENLINEAGE__TRANSPORT") or "{}")
    if transport.get("type") == "file":
        Path(transport["log_file_path"]).parent.mkdir(parents=True, exist_ok=True)


def ensure_metadata_db(env: dict[str, str]) -> None:
    """`airflow db migrate` once per Airflow version (it costs ~15 s even when nothing changes)."""
    from importlib.metadata import version

    stamp = Path(env["AIRFLOW_HOME"]) / _MIGRATED_STAMP.format(version=version("apache-airflow"))
    sqlite_file = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].removeprefix("sqlite:///")
    db_missing = (
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite") and not Path(sqlite_file).exists()
    )
    if stamp.exists() and not db_missing:
        return
    print("[de-sandbox] airflow db migrate (first run only)", flush=True)
    airflow_bin = Path(sys.executable).parent / "airflow"
    proc = subprocess.run(
        [str(airflow_bin), "db", "migrate"], env={**os.environ, **env}, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    stamp.touch()
