"""`make bench-ingest`: one synthetic pageview hour of real size end to end (extract, load, dbt, audit,
validate, archive), each phase timed in its own process with its peak RSS, next to the floor measured in the
same run: DuckDB's own `read_csv` of the same file into a table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from de_sandbox.ingestion import pageviews
from de_sandbox.settings import bench_ingest_dir

HOUR = datetime(2026, 2, 1, 5)
PHASES = ("extract", "load", "dbt", "audit", "validate", "archive")
CACHE_DIR = bench_ingest_dir()

# Each phase runs in a fresh interpreter, as an Airflow task would: its RSS is its own, and so is the timing.
_PHASE_CHILD = """
import json, resource, sys, time
from datetime import datetime, timedelta
phase, hour = sys.argv[1], datetime.fromisoformat(sys.argv[2])
end = hour + timedelta(hours=1)
from de_sandbox.ingestion import pageviews, phases
from de_sandbox.ingestion.sources import pipeline
SPEC = pipeline("wikipedia_pageviews")
keys = [pageviews.object_key(hour)]
started = time.perf_counter()
if phase == "extract":
    result = phases.extract(SPEC, hour, end, "bench")
elif phase == "load":
    result = phases.load(SPEC, hour, end, keys, "bench")
elif phase == "dbt":
    from de_sandbox.dbt.project import dbt_executable, run_dbt
    from de_sandbox.settings import get_settings
    window = {"window_start": f"{hour:%Y-%m-%d %H:%M:%S}", "window_end": f"{end:%Y-%m-%d %H:%M:%S}"}
    args = ["build", "--select", "tag:wikipedia", "--vars", json.dumps(window)]
    result = run_dbt(get_settings(), args, dbt_executable(), target="bench-ingest").seconds
elif phase == "audit":
    result = phases.audit(SPEC, hour, end, "bench")
elif phase == "validate":
    from de_sandbox.ingestion.validation import validate
    result = validate(SPEC, hour, end, "bench")
elif phase == "archive":
    result = phases.archive(SPEC, hour, end, keys, "bench")
elapsed = time.perf_counter() - started
rss = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(json.dumps({"seconds": elapsed, "peak_rss_mb": rss / 1024, "result": result}, default=str))
"""

# Timed like a load: from opening the database file to closing it, the table written to disk.
_FLOOR_CHILD = """
import json, os, resource, sys, time
import duckdb
source, database = sys.argv[1], sys.argv[2]
started = time.perf_counter()
connection = duckdb.connect(database)
statement = time.perf_counter()
connection.execute(
    "create or replace table pageviews as select * from read_csv(?, delim = ' ', quote = '', escape = '',"
    " header = false, ignore_errors = true, columns = {'domain_code': 'VARCHAR', 'page_title': 'VARCHAR',"
    " 'count_views': 'BIGINT', 'total_response_size': 'BIGINT'})",
    (source,),
)
rows = connection.execute("select count(*) from pageviews").fetchone()[0]
statement = time.perf_counter() - statement
connection.close()
elapsed = time.perf_counter() - started
os.remove(database)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "statement_seconds": statement, "peak_rss_mb": rss / 1024, "result": rows}))
"""


# Imported once before measuring, with bytecode caching on: phases then time the pipeline, not the compiler
# (PYTHONDONTWRITEBYTECODE=1 would otherwise make every phase recompile pandas, GX and dbt from source).
_WARM_UP = """
import duckdb, numpy, pyarrow, pandas, great_expectations, dbt.cli.main, dbt.adapters.duckdb, dbt.adapters.postgres
import de_sandbox.ingestion.phases, de_sandbox.ingestion.validation, de_sandbox.dbt.project
print("{}")
"""


def synthetic_source(rows: int, hours: int = 1) -> Path:
    """A source directory in the dumps' layout holding the synthetic hour of `rows` lines (cached), and the same
    lines as the `hours - 1` hours after it (hard links: the same pages every hour)."""
    source = CACHE_DIR / f"source-{rows}"
    path = source / pageviews.relative_path(HOUR)
    if not path.exists():
        print(f"[bench-ingest] writing a synthetic hour of {rows:,} lines to {path}", flush=True)
        pageviews.write_synthetic_hour(path, rows)
    for later in range(1, hours):
        copy = source / pageviews.relative_path(HOUR + timedelta(hours=later))
        if not copy.exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, copy)
    return source


def run_child(code: str, args: list[str], env: dict[str, str]) -> dict:
    wall = time.perf_counter()
    env = {name: value for name, value in env.items() if name != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{proc.stderr[-3000:]}")
    measured = json.loads(proc.stdout.strip().splitlines()[-1])
    return {**measured, "wall_seconds": time.perf_counter() - wall}


@contextmanager
def warehouse_env(kind: str, work: Path) -> Iterator[dict[str, str]]:
    """Environment of a throwaway warehouse (a DuckDB file, or a PostgreSQL server on a free port) and object
    store (the S3 stand-in on a free port)."""
    from de_sandbox.native.objectstore import s3_standin

    env = {
        **os.environ,
        "DE_SANDBOX_ENV_FILE": str(work / "no.env"),
        "DATA_DIR": str(work),
        "WAREHOUSE": kind,
        "DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "METRICS_DB_PATH": str(work / "facts.sqlite"),
        "MINIO_ROOT_USER": "bench-user",
        "MINIO_ROOT_PASSWORD": "bench-password",
        "S3_BUCKET_RAW": "bench-raw",
        "S3_BUCKET_ARCHIVE": "bench-archive",
        "AUDIT_TOLERANCE_PCT": "0",
    }
    with s3_standin() as endpoint:
        env["MINIO_ENDPOINT"] = endpoint
        if kind == "duckdb":
            yield env
            return
        from de_sandbox.native.postgres import LocalPostgres, reachable_tmp_dir
        from de_sandbox.native.processes import free_port

        root = reachable_tmp_dir("de-sandbox-bench-pg-")
        server = LocalPostgres(
            root / "postgres", free_port(), "bench", "bench-password", "airflow", "warehouse"
        )
        try:
            server.start()
            yield {**env, **server.env()}
        finally:
            server.wipe()
            shutil.rmtree(root, ignore_errors=True)


def bench(
    sizes: tuple[int, ...], kinds: tuple[str, ...], runs: int, hours: int = 1
) -> dict[tuple[str, int], dict]:
    """The hour of each size `runs` times on each warehouse of `kinds`, one warehouse per size and kind; with
    `hours`, each run loads that many new hours one after another (a run per hour). Within a run the sizes and
    warehouses take turns (1M on DuckDB, 1M on PostgreSQL, 6M on DuckDB, ...), so that a slow spell of the
    machine falls on all alike. The floor is measured again right before each run: the same run's load is
    compared with it."""
    sources = {rows: synthetic_source(rows, hours) for rows in sizes}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as scratch, ExitStack() as stack:
        work = Path(scratch)
        run_child(_WARM_UP, ["warm-up"], dict(os.environ))

        def floor(rows: int) -> dict:
            dump = sources[rows] / pageviews.relative_path(HOUR)
            return run_child(_FLOOR_CHILD, [str(dump), str(work / "floor.duckdb")], dict(os.environ))

        envs = {}
        for rows in sizes:
            for kind in kinds:
                (work / f"{kind}-{rows}").mkdir()
                envs[kind, rows] = {
                    **stack.enter_context(warehouse_env(kind, work / f"{kind}-{rows}")),
                    "PAGEVIEWS_SOURCE": str(sources[rows]),
                }
        results: dict[tuple[str, int], list] = {key: [] for key in envs}
        for _ in range(runs):
            for hour in (HOUR + timedelta(hours=later) for later in range(hours)):
                for key, env in envs.items():
                    run = {"hour": hour.isoformat(), "floor": floor(key[1])}
                    for phase in PHASES:
                        run[phase] = run_child(_PHASE_CHILD, [phase, hour.isoformat()], env)
                    results[key].append(run)
    return {
        (kind, rows): {
            "rows": rows,
            "warehouse": kind,
            "expected_bad": sum(pageviews.synthetic_bad_lines(rows).values()),
            "runs": results[kind, rows],
        }
        for kind, rows in envs
    }


def run_total(run: dict) -> float:
    return sum(run[phase]["seconds"] for phase in PHASES)


def ratio_report(duckdb: dict, postgres: dict) -> str:
    """PostgreSQL's total over DuckDB's, run by run (runs measured side by side)."""
    lines = [f"{duckdb['rows']:,} lines", "run   DuckDB s  PostgreSQL s  PostgreSQL/DuckDB"]
    for number, (duck, pg) in enumerate(zip(duckdb["runs"], postgres["runs"], strict=True), start=1):
        lines.append(
            f"{number:<4}{run_total(duck):>10.2f}{run_total(pg):>14.2f}{run_total(pg) / run_total(duck):>19.2f}"
        )
    return "\n".join(lines)


def scale_report(small: dict, large: dict) -> str:
    """The larger hour's total and load over the smaller one's, run by run (runs measured side by side)."""
    label = f"{large['rows']:,} / {small['rows']:,} lines on {small['warehouse']}"
    lines = [label, "run   small s  large s  total ratio  load ratio"]
    for number, (a, b) in enumerate(zip(small["runs"], large["runs"], strict=True), start=1):
        ratio, load = run_total(b) / run_total(a), b["load"]["seconds"] / a["load"]["seconds"]
        lines.append(f"{number:<4}{run_total(a):>9.2f}{run_total(b):>9.2f}{ratio:>13.2f}{load:>12.2f}")
    return "\n".join(lines)


def check_counts(figures: dict) -> list[str]:
    """Exact counts in every run, identical across runs."""
    rows, bad = figures["rows"], figures["expected_bad"]
    expected = {"source": rows, "stage": rows - bad, "quarantined": bad, "target": rows - bad}
    problems = []
    for number, run in enumerate(figures["runs"], start=1):
        audited = run["audit"]["result"]
        if audited != expected:
            problems.append(f"run {number}: audit counts {audited}, expected {expected}")
        if run["validate"]["result"] != rows - bad:
            problems.append(
                f"run {number}: validated {run['validate']['result']} rows, expected {rows - bad}"
            )
    return problems


def report(figures: dict) -> str:
    lines = [
        f"bench-ingest: {figures['rows']:,} lines ({figures['expected_bad']} bad) on {figures['warehouse']}",
        f"{'phase':<22}{'seconds':>10}{'wall s':>10}{'peak RSS MB':>13}",
    ]
    for number, run in enumerate(figures["runs"], start=1):
        floor = run["floor"]
        lines.append(
            f"{f'run {number} floor':<22}{floor['seconds']:>10.2f}{floor['wall_seconds']:>10.2f}"
            f"{floor['peak_rss_mb']:>13.0f}   DuckDB read_csv into a table just before this run"
            f" (the statement alone {floor['statement_seconds']:.2f} s), then hour {run['hour']}"
        )
        for phase in PHASES:
            m = run[phase]
            lines.append(
                f"{f'run {number} {phase}':<22}{m['seconds']:>10.2f}{m['wall_seconds']:>10.2f}"
                f"{m['peak_rss_mb']:>13.0f}"
            )
        total = run_total(run)
        peak = max(run[phase]["peak_rss_mb"] for phase in PHASES)
        lines.append(f"{f'run {number} total':<22}{total:>10.2f}{'':>10}{peak:>13.0f}")
        lines.append(
            f"{f'run {number} load/floor':<22}{run['load']['seconds'] / floor['seconds']:>10.2f}"
            f"   audit {run['audit']['result']}"
        )
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    kinds = ("duckdb", "postgres") if args.warehouse == "both" else (args.warehouse,)
    figures = bench(args.rows, kinds, args.runs, args.hours)
    problems = []
    for (kind, rows), measured in figures.items():
        print(report(measured))
        out = CACHE_DIR / f"figures-{kind}-{rows}.json"
        out.write_text(json.dumps(measured, indent=2, default=str) + "\n")
        print(f"[bench-ingest] figures written to {out}")
        problems += [f"{kind} {rows:,} lines {problem}" for problem in check_counts(measured)]
    for rows in args.rows:
        if len(kinds) == 2:
            print(ratio_report(figures["duckdb", rows], figures["postgres", rows]))
    for kind in kinds:
        for small, large in zip(args.rows, args.rows[1:], strict=False):
            print(scale_report(figures[kind, small], figures[kind, large]))
    for problem in problems:
        print(f"[bench-ingest] COUNT MISMATCH {problem}", file=sys.stderr)
    return 1 if problems else 0


def _sizes(text: str) -> tuple[int, ...]:
    """`6000000` or `1000000,6000000`: line counts, each a positive integer, in increasing order."""
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected line counts like 6000000 or 1000000,6000000, got {text!r}"
        ) from None
    if min(sizes) < 1 or list(sizes) != sorted(set(sizes)):
        raise argparse.ArgumentTypeError(f"line counts must be positive and increasing, got {text!r}")
    return sizes


def _between(low: int, high: int):
    """An argparse type: an integer from `low` to `high`, else a one-line error naming the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, got {text!r}")
        return value

    return parse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench-ingest", help="one synthetic pageview hour of real size end to end, per phase time and RSS"
    )
    parser.add_argument(
        "--rows",
        type=_sizes,
        default=(6_000_000,),
        help="lines in the synthetic hour; several (1000000,6000000) run side by side and report their ratio",
    )
    parser.add_argument(
        "--warehouse",
        choices=("duckdb", "postgres", "both"),
        default="duckdb",
        help="both: the two warehouses' runs alternate, and PostgreSQL/DuckDB is reported run by run",
    )
    parser.add_argument(
        "--runs", type=_between(1, 100), default=1, help="runs of the same hour (re-runs replace it)"
    )
    parser.add_argument(
        "--hours",
        type=_between(1, 24),
        default=1,
        help="new hours one after another in each run (the same lines each hour), a run per hour",
    )
    parser.set_defaults(func=_run)
