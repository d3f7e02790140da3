#!/usr/bin/env bash
# Runs once on an empty data directory: the image creates $POSTGRES_DB (Airflow metadata); this adds the warehouse.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=db="$WAREHOUSE_DB" --set=owner="$POSTGRES_USER" <<'SQL'
CREATE DATABASE :"db" OWNER :"owner";
SQL
