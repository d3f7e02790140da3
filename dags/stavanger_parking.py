"""
### stavanger_parking

Hourly occupancy of Stavanger's parking houses through staging, intermediate and marts; each run's window is its
data interval.

1. `check_stale` marks phases of earlier runs stuck in `running` as `stale` in `ops.run_ledger`, reports them.
2. `extract` calls the parking API (`STAVANGER_PARKING_URL`; offline, the bundled recorded responses inside
   the window) and lands each raw JSON response in the raw bucket under a `year=/month=/day=/hour=` key.
3. `load` replaces the window in `raw.stavanger_parking`; bad records go to `ops.quarantine` with a reason.
4. `dbt` builds the models tagged `parking` (Cosmos): staging `stg_stavanger_parking__snapshots`, intermediate
   `int_parking_snapshots_enriched`, mart `fct_parking_occupancy_hourly` (per house and hour).
5. `audit` reconciles source = stage + quarantined and stage ~ intermediate within `AUDIT_TOLERANCE_PCT`.
6. `validate` runs Great Expectations on the window's intermediate rows; `archive` moves the raw responses away.

Each phase writes its counts, status, error and duration to `ops.run_ledger`. Re-running a window replaces it.
"""

from __future__ import annotations

from airflow.sdk import DAG

from de_sandbox.orchestration.ingestion import hourly_dag_args, ingestion_tasks
from de_sandbox.settings import get_settings

settings = get_settings()

PIPELINE = "stavanger_parking"

with DAG(dag_id=PIPELINE, doc_md=__doc__, tags=["ingestion", "parking"], **hourly_dag_args(settings)):
    ingestion_tasks(PIPELINE, dbt_tag="parking", settings=settings)
