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

from airflow.sdk import DAG

from de_sandbox.orchestration.ingestion import hourly_dag_args, ingestion_tasks
from de_sandbox.settings import get_settings

settings = get_settings()

PIPELINE = "wikipedia_pageviews"

with DAG(dag_id=PIPELINE, doc_md=__doc__, tags=["ingestion", "wikipedia"], **hourly_dag_args(settings)):
    ingestion_tasks(PIPELINE, dbt_tag="wikipedia", settings=settings)
