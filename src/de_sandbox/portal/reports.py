"""What the portal pages show, read from the run ledger and quarantine (warehouse) and the metrics facts (SQLite).

Every read goes through a read-only connection; a platform that has not run a pipeline yet shows empty lists.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from de_sandbox.ingestion.ledger import LEDGER_COLUMNS, LEDGER_TABLE, QUARANTINE_TABLE
from de_sandbox.metrics.facts import connect_readonly, read_facts
from de_sandbox.warehouse import WarehouseConnection

PHASES = ("extract", "load", "audit", "validate", "archive")
WINDOWS_PER_PIPELINE = 10
QUARANTINE_SAMPLES = 20


def _has(connection: WarehouseConnection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return connection.table_exists(schema, table)


def pipelines(connection: WarehouseConnection, windows: int = WINDOWS_PER_PIPELINE) -> list[dict[str, Any]]:
    """Per pipeline its latest windows; per window each phase's latest attempt (status, counts, duration)."""
    if not _has(connection, LEDGER_TABLE):
        return []
    found = connection.execute(
        f"select {', '.join(LEDGER_COLUMNS)} from ("
        f" select *, dense_rank() over (partition by pipeline order by window_start desc) as window_rank"
        f" from {LEDGER_TABLE}) ranked where window_rank <= ? order by pipeline, window_start desc, attempt",
        (windows,),
    )
    by_window: dict[str, dict[Any, dict[str, Any]]] = defaultdict(dict)
    for values in found:
        row = dict(zip(LEDGER_COLUMNS, values, strict=True))
        window = by_window[row["pipeline"]].setdefault(
            row["window_start"],
            {"window_start": row["window_start"], "window_end": row["window_end"], "phases": {}},
        )
        # Rows come in attempt order, so the last one written for a phase is its latest attempt.
        window["phases"][row["phase"]] = {
            "status": row["status"],
            "attempts": row["attempt"],
            "run_id": row["run_id"],
            "rows_source": row["rows_source"],
            "rows_stage": row["rows_stage"],
            "rows_target": row["rows_target"],
            "rows_quarantined": row["rows_quarantined"],
            "duration_seconds": row["duration_seconds"],
            "error": row["error"],
        }
    result = []
    for pipeline, windows_of in sorted(by_window.items()):
        summaries = [_window_summary(window) for window in windows_of.values()]
        result.append({"pipeline": pipeline, "windows": summaries})
    return result


def _window_summary(window: dict[str, Any]) -> dict[str, Any]:
    phases = window["phases"]

    def first(key: str) -> int | None:
        values = [p[key] for p in phases.values() if p[key] is not None]
        return max(values) if values else None

    statuses = [p["status"] for p in phases.values()]
    run_ids = [p["run_id"] for p in phases.values() if p["run_id"]]
    return {
        "window_start": window["window_start"].isoformat(sep=" "),
        "window_end": window["window_end"].isoformat(sep=" "),
        "run_id": run_ids[-1] if run_ids else None,
        "status": _overall(statuses),
        "phases": {
            name: phases[name] for name in [*PHASES, *sorted(set(phases) - set(PHASES))] if name in phases
        },
        "rows_source": first("rows_source"),
        "rows_stage": first("rows_stage"),
        "rows_target": first("rows_target"),
        "rows_quarantined": first("rows_quarantined"),
        "attempts": max(p["attempts"] for p in phases.values()),
        "duration_seconds": round(sum(p["duration_seconds"] or 0 for p in phases.values()), 3),
    }


def _overall(statuses: list[str]) -> str:
    for status in ("failed", "stale", "running"):
        if status in statuses:
            return status
    return "success" if statuses and all(s in ("success", "skipped") for s in statuses) else "skipped"


def quarantine(connection: WarehouseConnection, samples: int = QUARANTINE_SAMPLES) -> dict[str, Any]:
    """Quarantine reasons with their counts per pipeline, and the latest raw records as samples."""
    if not _has(connection, QUARANTINE_TABLE):
        return {"reasons": [], "samples": []}
    reasons = connection.execute(
        f"select pipeline, reason, count(*) from {QUARANTINE_TABLE}"
        " group by pipeline, reason order by count(*) desc, pipeline, reason"
    )
    sample_rows = connection.execute(
        "select pipeline, window_start, source_file, record_no, raw_record, reason"
        f" from {QUARANTINE_TABLE} order by quarantined_at desc, record_no limit ?",
        (samples,),
    )
    keys = ("pipeline", "window_start", "source_file", "record_no", "raw_record", "reason")
    return {
        "reasons": [{"pipeline": p, "reason": r, "count": int(n)} for p, r, n in reasons],
        "samples": [
            {k: (v.isoformat(sep=" ") if k == "window_start" else v) for k, v in zip(keys, row, strict=True)}
            for row in sample_rows
        ],
    }


def quality(facts_db: Path) -> dict[str, Any]:
    """Latest dbt test results and GX validations, their history, and source freshness."""
    facts = read_facts(facts_db)
    now = time.time()
    tests = [dict(r) for r in facts["dbt"] if r["resource_type"] in ("test", "unit_test")]
    freshness = [
        {
            "source": r["source"],
            "table": r["table_name"],
            "age_seconds": round(now - r["last_loaded_at"]),
            "sla_seconds": r["sla_seconds"],
            "fresh": now - r["last_loaded_at"] <= r["sla_seconds"],
            "last_loaded_at": _iso(r["last_loaded_at"]),
        }
        for r in facts["freshness"]
    ]
    return {
        "dbt_tests": sorted(tests, key=lambda t: (t["model"], t["name"])),
        "gx": [dict(r) | {"recorded_at": _iso(r["recorded_at"])} for r in facts["gx"]],
        "history": quality_history(facts_db),
        "freshness": freshness,
    }


def quality_history(facts_db: Path, limit: int = 50) -> list[dict[str, Any]]:
    """Pass rate per recorded run, oldest first: dbt tests per invocation and GX validations per run."""
    with connect_readonly(facts_db) as conn:
        if conn is None:
            return []
        try:
            dbt_runs = conn.execute(
                "select run_id, min(recorded_at) as at, sum(status = 'pass') as passed, count(*) as total"
                " from dbt_results where resource_type in ('test', 'unit_test')"
                " group by dag_id, run_id, invocation_id order by at desc limit ?",
                (limit,),
            ).fetchall()
            gx_runs = conn.execute(
                "select run_id, suite, recorded_at as at, passed, evaluated as total from gx_results"
                " order by recorded_at desc limit ?",
                (limit,),
            ).fetchall()
        except Exception as error:  # a store without the tables yet has no history
            if "no such table" in str(error):
                return []
            raise
    history = [
        {"kind": "dbt", "what": r["run_id"], "at": r["at"], "passed": r["passed"], "total": r["total"]}
        for r in dbt_runs
    ] + [
        {"kind": "gx", "what": r["suite"], "at": r["at"], "passed": r["passed"], "total": r["total"]}
        for r in gx_runs
    ]
    for entry in history:
        entry["rate"] = entry["passed"] / entry["total"] if entry["total"] else None
        entry["when"] = _iso(entry["at"])
    return sorted(history, key=lambda e: e["at"])


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch))
