"""
### wikipedia_pageviews

Hourly Wikipedia pageviews, built the way production pipelines are: each run's window is its data interval.

1. `check_stale` marks phases of earlier runs stuck in `running` as `stale` in `ops.run_ledger`, reports them.
2. `extract` fetches the hour's dump (`pageviews-YYYYMMDD-HH0000.gz`, from `PAGEVIEWS_SOURCE`: the public
   dumps site, or the bundled sample hours) and lands it in the raw bucket, keyed `year=/month=/day=/hour=`.
3. `load` replaces the hour in `raw.wikipedia_pageviews`; bad lines go to `ops.quarantine` with a reason.
4. `dbt` builds the incremental models tagged `wikipedia` for the window (Cosmos).
5. `audit` reconciles source = stage + quarantined and stage ~ target within `AUDIT_TOLERANCE_PCT`.
6. `validate` runs Great Expectations on the hour's facts; `archive` moves the raw file to the archive bucket.

Every phase writes its counts, status, error and duration to `ops.run_ledger`. Re-running an hour replaces it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG
from airflow.timetables.interval import CronDataIntervalTimetable

from de_sandbox import dbt_cosmos
from de_sandbox.ingestion.dag import ingestion_tasks
from de_sandbox.settings import get_settings

settings = get_settings()

PIPELINE = "wikipedia_pageviews"

with DAG(
    dag_id="wikipedia_pageviews",
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
    tags=["ingestion", "wikipedia"],
    doc_md=__doc__,
):
    ingestion_tasks(PIPELINE, dbt_tag="wikipedia", settings=settings)
