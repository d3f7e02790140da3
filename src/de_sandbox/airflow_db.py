"""Prepares Airflow's metadata database for every runtime: migrate, the DuckDB pool, the admin's login file.

Runs in a process whose environment already holds the Airflow configuration (Airflow reads it at import):
    python -m de_sandbox.airflow_db [--migrate] [--login-file PATH]
The native platform and compose's airflow-init both call it, so the pool and the login are made one way.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from de_sandbox.settings import get_platform_settings, get_settings

# DuckDB allows one writer process: every task touching the DuckDB file queues on this one-slot pool.
DUCKDB_POOL = "duckdb"
DUCKDB_POOL_SLOTS = 1


def write_login_file(path: Path, user: str, password: str) -> None:
    """The simple auth manager's password file, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({user: password}) + "\n")
    path.chmod(0o600)


def prepare(migrate: bool) -> None:
    from airflow.models.pool import Pool
    from airflow.utils.db import upgradedb

    if migrate:
        upgradedb()
    Pool.create_or_update_pool(
        DUCKDB_POOL, DUCKDB_POOL_SLOTS, "DuckDB: one writer process", include_deferred=False
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--migrate", action="store_true", help="run Airflow's schema migration first")
    parser.add_argument("--login-file", type=Path, help="write AIRFLOW_ADMIN_USER's login to this file")
    args = parser.parse_args(argv)
    if args.login_file:
        platform = get_platform_settings()
        write_login_file(args.login_file, platform.admin_user, platform.admin_password)
    # Compose's OpenLineage file transport writes here and does not create the folder itself.
    get_settings().lineage_dir.mkdir(parents=True, exist_ok=True)
    prepare(args.migrate)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
