#!/usr/bin/env bash
# Entrypoint of the sandbox's Airflow image: derives what the native platform computes in Python, then hands over
# to the official entrypoint. AIRFLOW_CONN_WAREHOUSE follows WAREHOUSE (DuckDB file or PostgreSQL warehouse).
set -euo pipefail
if [[ -z "${AIRFLOW_CONN_WAREHOUSE:-}" ]]; then
    AIRFLOW_CONN_WAREHOUSE="$(python -c 'from de_sandbox.airflow_env import warehouse_conn_uri
from de_sandbox.settings import get_settings
print(warehouse_conn_uri(get_settings()))')"
    export AIRFLOW_CONN_WAREHOUSE
fi
exec "${AIRFLOW_OFFICIAL_ENTRYPOINT:-/entrypoint}" "$@"
