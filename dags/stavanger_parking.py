"""
### stavanger_parking

Hourly occupancy of Stavanger's parking houses, medallion style; each run's window is its data interval.

1. `check_stale` marks phases of earlier runs stuck in `running` as `stale` in `ops.run_ledger`, reports them.
2. `extract` calls the parking API (`STAVANGER_PARKING_URL`; offline, the bundled recorded responses inside
   the window) and lands each raw JSON response in the raw bucket under a `year=/month=/day=/hour=` key.
3. `load` replaces the window in `raw.stavanger_parking`; bad records go to `ops.quarantine` with a reason.
4. `dbt` builds the models tagged `parking` (Cosmos): bronze `stg_stavanger_parking__snapshots`, silver
   `int_stavanger_parking__snapshots`, gold `fct_stavanger_parking__occupancy_hourly` (per house and hour).
5. `audit` reconciles source = stage + quarantined and stage ~ silver within `AUDIT_TOLERANCE_PCT`.
6. `validate` runs Great Expectations on the window's silver rows; `archive` moves the raw responses away.

Each phase writes its counts, status, error and duration to `ops.run_ledger`. Re-running a window replaces it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from de_sandbox import dbt_cosmos
from de_sandbox.ingestion.dag import ingestion_tasks
from de_sandbox.settings import get_settings

settings = get_settings()

PIPELINE = "stavanger_parking"

with DAG(
    dag_id="stavanger_parking",
    schedule=CronDataIntervalTimetable("@hourly", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    # DuckDB takes one writer process: a run's tasks go one at a time, one run at a time.
    max_active_runs=1,
    max_active_tasks=1,
    default_args={
        "owner": "ingestion",
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        **dbt_cosmos.pool_args(settings),
    },
    tags=["ingestion", "parking"],
    doc_md=__doc__,
):
    ingestion_tasks(PIPELINE, dbt_tag="parking", settings=settings)
