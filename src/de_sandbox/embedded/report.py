"""The summary printed after a run: rows per warehouse table, dbt node outcomes, expectations, and artefact paths."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from de_sandbox.dbt.artifacts import node_outcomes
from de_sandbox.dbt.project import artifacts_dir
from de_sandbox.embedded.runner import RunResult
from de_sandbox.settings import Settings
from de_sandbox.warehouse import duckdb_connection, listed_tables_filter, postgres_connection

SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast")


def warehouse_tables(settings: Settings) -> list[tuple[str, str, int]]:
    """(schema, table, rows) for every table and view in the warehouse; empty if it does not exist yet."""
    query = (
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema not in {SYSTEM_SCHEMAS}{listed_tables_filter(settings.warehouse)} order by 1, 2"
    )
    if settings.warehouse == "duckdb":
        if not settings.duckdb_path.exists():
            return []
        with duckdb_connection(settings, read_only=True) as conn:
            names = conn.execute(query).fetchall()
            return [(s, t, conn.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]) for s, t in names]
    with postgres_connection(settings) as conn, conn.cursor() as cur:
        cur.execute(query)
        rows = []
        for schema, table in cur.fetchall():
            cur.execute(f'select count(*) from "{schema}"."{table}"')
            rows.append((schema, table, cur.fetchone()[0]))
        return rows


def quality_reports(result: RunResult) -> list[dict]:
    """The GX validation reports the run pushed to XCom (see de_sandbox.quality.validate)."""
    return [v for v in result.xcoms.values() if isinstance(v, dict) and "validation_results" in v]


def format_summary(result: RunResult, settings: Settings) -> str:
    lines = [
        "",
        f"== {result.dag_id}: {result.state.upper()} in {result.seconds:.1f}s (run {result.run_id})",
        "",
    ]
    task_states = Counter(t.state for t in result.tasks)
    lines.append("Airflow tasks: " + ", ".join(f"{n} {s}" for s, n in sorted(task_states.items())))
    failed = [t.task_id for t in result.tasks if t.state == "failed"]
    if failed:
        lines.append("  failed: " + ", ".join(failed))

    outcomes = node_outcomes(settings, result.dag_id, result.run_id) if result.run_id else Counter()
    if outcomes:
        by_type: dict[str, Counter] = {}
        for (resource, status), count in outcomes.items():
            by_type.setdefault(resource, Counter())[status] += count
        parts = [
            f"{resource}s " + "/".join(f"{n} {s}" for s, n in sorted(c.items()))
            for resource, c in sorted(by_type.items())
        ]
        passed = sum(n for (_, s), n in outcomes.items() if s in ("success", "pass"))
        lines.append(
            f"dbt nodes: {passed} passed, {sum(outcomes.values()) - passed} not passed ({'; '.join(parts)})"
        )

    for report in quality_reports(result):
        suites = report["validation_results"]
        if not suites:
            lines.append(f"Great Expectations: {report.get('message', 'no expectation suites ran')}")
        for suite in suites:
            stats = suite["statistics"]
            lines.append(
                f"Great Expectations {suite['suite_name']:<34} {'passed' if suite['success'] else 'FAILED':<7}"
                f" {stats['successful_expectations']}/{stats['evaluated_expectations']} expectations"
            )

    tables = warehouse_tables(settings)
    if tables:
        lines += ["", f"Rows per table ({settings.warehouse}):"]
        lines += [f"  {schema + '.' + table:<45} {rows:>8}" for schema, table, rows in tables]

    docs = artifacts_dir(settings) / "docs" / "static_index.html"
    data_docs = settings.gx_root_dir / "uncommitted" / "data_docs" / "local_site" / "index.html"
    lines += ["", "Where things are:"]
    if settings.warehouse == "duckdb":
        lines.append(f"  DuckDB warehouse   {settings.duckdb_path}")
    else:
        lines.append(
            f"  Postgres warehouse {settings.postgres_host}:{settings.postgres_port}/{settings.warehouse_db}"
        )
    lines += [
        f"  dbt docs           {_exists(docs)}",
        f"  GX Data Docs       {_exists(data_docs)}",
        f"  run log            {result.log_file}",
    ]
    return "\n".join(lines)


def _exists(path: Path) -> str:
    return str(path) if path.exists() else f"{path} (not generated)"
