"""Airflow configuration as environment variables: the settings every runtime shares (airflow.env, which compose
reads too) plus each runtime's own paths, URLs and secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from de_sandbox.settings import Settings

_MIGRATED_STAMP = ".migrated-{version}"
# Read by docker-compose.yml's `env_file:` as well; lives in the package so an installed copy finds it.
SHARED_SETTINGS_FILE = Path(__file__).with_name("airflow.env")


def shared_settings(path: Path | None = None) -> dict[str, str]:
    """The Airflow settings that are the same in every runtime (no interpolation: compose's differs)."""
    values = dotenv_values(path or SHARED_SETTINGS_FILE, interpolate=False)
    return {key: value or "" for key, value in values.items()}


def with_shared_settings(runtime: Mapping[str, str], path: Path | None = None) -> dict[str, str]:
    """The shared settings plus one runtime's own keys; redefining a shared key there is a mistake."""
    path = path or SHARED_SETTINGS_FILE
    shared = shared_settings(path)
    redefined = sorted(shared.keys() & runtime.keys())
    if redefined:
        raise ValueError(f"{', '.join(redefined)}: set once in {path}, not per runtime")
    return {**shared, **runtime}


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


def airflow_env(
    settings: Settings, airflow_home: Path, metadata_url: str, runtime: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Everything Airflow reads, as AIRFLOW__* variables (no airflow.cfg edits anywhere): the shared settings,
    the paths of this checkout, then `runtime`'s own keys (which may not redefine a shared one)."""
    return with_shared_settings(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(settings.repo_root / "dags"),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(airflow_home / "logs"),
            "AIRFLOW__COSMOS__CACHE_DIR": str(settings.data_dir / "cosmos-cache"),
            # OpenLineage events of every task, one JSON file each, read by `de-sandbox lineage`.
            "AIRFLOW__OPENLINEAGE__TRANSPORT": lineage_transport(settings),
            "AIRFLOW_CONN_WAREHOUSE": warehouse_conn_uri(settings),
            "DATA_DIR": str(settings.data_dir),
            "DUCKDB_PATH": str(settings.duckdb_path),
            "WAREHOUSE": settings.warehouse,
            "DBT_PROJECT_DIR": str(settings.dbt_project_dir),
            "DBT_PROFILES_DIR": str(settings.dbt_profiles_dir),
            "GX_ROOT_DIR": str(settings.gx_root_dir),
            **(runtime or {}),
        }
    )


def embedded_env(settings: Settings) -> dict[str, str]:
    """Airflow on SQLite under the data folder: what `make demo` and `make run` use."""
    home = settings.data_dir / "airflow-embedded"
    # Tells the DAGs they run under dag.test(): no triggerer, so Cosmos picks COSMOS_EMBEDDED_EXECUTION_MODE there.
    return airflow_env(settings, home, f"sqlite:///{home / 'airflow.db'}", {"DE_SANDBOX_RUNTIME": "embedded"})


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
