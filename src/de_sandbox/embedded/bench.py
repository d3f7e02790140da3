"""`make bench`: a dbt project's DAG against a plain `dbt build` of the same nodes, side by side in one run.

BENCH_PROJECT picks the example project (`example_pipeline`) or the scale project (`bench/scale_project`, run by
`bench/dags/scale_bench.py` over BENCH_ROWS generated order lines); BENCH_WAREHOUSE picks DuckDB or PostgreSQL;
BENCH_MODES the ways of running the DAG; BENCH_JSON writes the figures for scripts.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from de_sandbox.embedded.memory import PeakMemory, children_of_this_process, postmaster_pid
from de_sandbox.embedded.timeline import (
    TaskTiming,
    dbt_seconds,
    format_timeline,
    summary,
    task_rows,
    task_timings,
)
from de_sandbox.settings import (
    BENCH_DAGS_DIR,
    SCALE_BENCH_PROJECT_DIR,
    BenchSettings,
    Settings,
    get_bench_settings,
    get_settings,
    overridden_env,
)

if TYPE_CHECKING:
    from de_sandbox.airflow_api import AirflowApi
    from de_sandbox.native.platform import Platform

DAG_IDS = {"example": "example_pipeline", "scale": "scale_bench"}
DEFAULT_MODES = "local:dbt_runner"
# dag.test() modes run the DAG in one process: LOCAL with each invocation, and WATCHER with every consumer behind
# the producer (COSMOS_EMBEDDED_EXECUTION_MODE=watcher; left as they are, they would defer to a triggerer that
# dag.test() does not run, and wait forever).
EMBEDDED_MODES = ("local:dbt_runner", "local:subprocess", "embedded:watcher")
# native:* run the DAG on a throwaway native platform (real scheduler and triggerer, one forked process per
# task): LOCAL + DBT_RUNNER with and without the scheduler preloading dbt, and WATCHER with the preload.
NATIVE_MODES = ("native:preload", "native:plain", "native:watcher")
SHORTHANDS = {"all": (*EMBEDDED_MODES, *NATIVE_MODES), "native": NATIVE_MODES}
# What dbt builds in the scale project; dropped before every build so each starts from the raw tables alone.
BUILT_SCHEMAS = ("staging", "intermediate", "marts")

_PARSE_PROBE = """
import sys, time
import airflow  # imported before timing: the parse cost is the DAG file's, not Airflow's
from airflow.dag_processing.dagbag import DagBag
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
elapsed = time.perf_counter() - started
if bag.import_errors:
    sys.exit(f"import errors: {bag.import_errors}")
print(elapsed)
"""


def parse_modes(value: str) -> list[str]:
    """BENCH_MODES as a list: `all`, `native` or comma-separated modes; an unknown one raises ValueError."""
    modes = list(SHORTHANDS.get(value.strip(), [m.strip() for m in value.split(",") if m.strip()]))
    known = (*EMBEDDED_MODES, *NATIVE_MODES)
    unknown = [m for m in modes if m not in known]
    if unknown or not modes:
        raise ValueError(
            f"BENCH_MODES={value!r}: {', '.join(unknown) or 'no mode'} unknown; choose from all, native, "
            + ", ".join(known)
        )
    return modes


@dataclass
class Measurement:
    mode: str
    seconds: float
    state: str
    peak_rss_mb: float
    timeline: list[TaskTiming] | None = None  # native runs: each task's queueing, running and dbt SQL


def report(bench: BenchSettings, plain: list[float], rows: list[Measurement]) -> dict:
    """The BENCH_JSON document: ratios against the mean of the plain builds at both ends of the run."""
    baseline = statistics.mean(plain)
    return {
        "project": bench.project,
        "rows": bench.rows,
        "warehouse": bench.warehouse,
        "plain_dbt_build_s": round(baseline, 2),
        "modes": {
            m.mode: {
                "seconds": round(m.seconds, 2),
                "ratio": round(m.seconds / baseline, 3),
                "peak_rss_mb": round(m.peak_rss_mb, 1),
                **(
                    {"where_the_time_goes": {**summary(m.timeline), "tasks": task_rows(m.timeline)}}
                    if m.timeline
                    else {}
                ),
            }
            for m in rows
        },
    }


class BenchProject:
    """The project under test and its warehouse: raw data in place and nothing built before each measurement."""

    def __init__(self, bench: BenchSettings, settings: Settings):
        self.bench = bench
        self.settings = settings
        self.cached: Path | None = None

    @property
    def scale(self) -> bool:
        return self.bench.project == "scale"

    @property
    def dag_id(self) -> str:
        return DAG_IDS[self.bench.project]

    @property
    def dags_dir(self) -> Path:
        return BENCH_DAGS_DIR if self.scale else self.settings.repo_root / "dags"

    def generate(self) -> None:
        if not self.scale:
            return
        from de_sandbox.embedded.scale_data import ensure_generated

        self.cached, seconds = ensure_generated(self.bench.data_dir / "scale-data", self.bench.rows)
        made = f"generated in {seconds:.1f} s" if seconds else "cached"
        print(f"[bench] {self.bench.rows:,} order lines {made}: {self.cached}", flush=True)

    def reset(self, settings: Settings, pgdata_conn: Callable[[], object] | None = None) -> None:
        """Scale project: the warehouse holds the raw tables and nothing dbt built (its models are incremental)."""
        if not self.scale:
            return
        from de_sandbox.embedded import scale_data

        if settings.warehouse == "duckdb":
            scale_data.load_duckdb(self.cached, settings.duckdb_path)
        else:
            with closing(pgdata_conn()) as conn:
                if scale_data.load_postgres(self.cached, conn, BUILT_SCHEMAS):
                    print("[bench] raw tables loaded into PostgreSQL with COPY", flush=True)


def parse_seconds(dag_file: str, repeats: int = 3) -> float:
    """Median wall time of filling a DagBag with the DAG file, each in a fresh interpreter."""
    samples = []
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, "-c", _PARSE_PROBE, dag_file],
            capture_output=True,
            text=True,
            env=os.environ.copy(),
        )
        if proc.returncode != 0:
            raise RuntimeError(f"parsing {dag_file} failed:\n{proc.stderr[-2000:]}")
        samples.append(float(proc.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def _roots(pgdata: Path | None) -> Callable[[], list[int]]:
    """What a measurement runs: this process's children (dbt, dag.test(), platform keepers) and the warehouse."""
    return lambda: children_of_this_process() + (postmaster_pid(pgdata) if pgdata else [])


def plain_dbt_build(project: BenchProject, settings: Settings, pgdata: Path | None, conn) -> Measurement:
    from de_sandbox.dbt.project import dbt_executable, run_dbt
    from de_sandbox.orchestration.cosmos import select_for

    project.reset(settings, conn)
    select = [] if project.scale else select_for(settings, "shop")
    args = ["build"] + (["--select", *select] if select else [])
    with PeakMemory(_roots(pgdata)) as memory:
        result = run_dbt(settings, args, dbt_executable(), check=False, target="bench-target")
    if result.returncode != 0:
        print(result.output[-3000:], file=sys.stderr, flush=True)
    state = "success" if result.returncode == 0 else "failed"
    return Measurement("plain dbt build", result.seconds, state, memory.peak_mb)


def cosmos_mode(mode: str):
    """The Cosmos settings of one measurement (COSMOS_EXECUTION_MODE on a platform, COSMOS_EMBEDDED_EXECUTION_MODE
    under dag.test(), COSMOS_INVOCATION_MODE); the old values come back."""
    runtime, _, how = mode.partition(":")
    if runtime == "native":
        execution = "watcher" if how == "watcher" else "local"
        return overridden_env(COSMOS_EXECUTION_MODE=execution, COSMOS_INVOCATION_MODE="dbt_runner")
    if runtime == "embedded":
        return overridden_env(COSMOS_EMBEDDED_EXECUTION_MODE=how, COSMOS_INVOCATION_MODE="dbt_runner")
    return overridden_env(COSMOS_EMBEDDED_EXECUTION_MODE="local", COSMOS_INVOCATION_MODE=how)


def dag_test(project: BenchProject, mode: str, settings: Settings, pgdata: Path | None, conn) -> Measurement:
    from de_sandbox.embedded.runner import run_dag

    project.reset(settings, conn)
    with cosmos_mode(mode), PeakMemory(_roots(pgdata)) as memory:
        started = time.perf_counter()
        result = run_dag(project.dag_id, settings=settings, dags_dir=project.dags_dir)
        seconds = time.perf_counter() - started
    return Measurement(mode, seconds, result.state, memory.peak_mb)


@contextmanager
def bench_platform(project: BenchProject, mode: str | None = None) -> Iterator[tuple[Platform, AirflowApi]]:
    """A throwaway native platform with the raw data loaded and the project's DAG parsed, stopped afterwards.

    `mode` None keeps the platform's own default Cosmos mode and scheduler preload (what the tests run)."""
    from de_sandbox.airflow_api import AirflowApi
    from de_sandbox.native.platform import Platform, down, up
    from de_sandbox.native.postgres import reachable_tmp_dir

    data_dir = reachable_tmp_dir("de-sandbox-bench-")
    with cosmos_mode(mode) if mode else nullcontext():
        platform = Platform.throwaway(data_dir, warehouse=project.bench.warehouse)
        if mode:
            platform = dataclasses.replace(platform, scheduler_preload=mode != "native:plain")
        # Only the bench DAG: the platform parses and runs nothing else. With `dags/` whole, the ingestion DAGs'
        # first scheduled runs took the CPU and the one DuckDB pool slot while the timed run waited (12-66 s).
        dags = data_dir / "bench-dags"
        dags.mkdir()
        shutil.copy(project.dags_dir / f"{project.dag_id}.py", dags)
        platform = dataclasses.replace(platform, dags_folder=dags)
        try:
            platform.postgres.start()
            project.reset(platform.settings, platform.postgres.connect)
            up(platform, timeout=600)  # a loaded 2-core machine needs more than the default 120 s
            api = AirflowApi(platform.api_url, platform.admin_user, platform.admin_password)
            api.login()
            api.wait_for_dag(project.dag_id, timeout=300)
            yield platform, api
        finally:
            down(platform)
            shutil.rmtree(data_dir, ignore_errors=True)


def native_run(project: BenchProject, mode: str) -> Measurement:
    """Trigger-to-finish of the DAG through the REST API of a throwaway native platform; its start is not timed."""
    with bench_platform(project, mode) as (platform, api):
        # The whole platform counts: Airflow's services, the tasks, its PostgreSQL (metadata, maybe warehouse).
        with PeakMemory(_roots(platform.postgres.pgdata)) as memory:
            started = time.perf_counter()
            run_id = api.trigger(project.dag_id)
            state = api.wait_for_run(project.dag_id, run_id, timeout=7200)
            seconds = time.perf_counter() - started
        timeline = run_timeline(platform, api, project.dag_id, run_id)
    return Measurement(mode, seconds, state, memory.peak_mb, timeline)


def run_timeline(platform: Platform, api: AirflowApi, dag_id: str, run_id: str) -> list[TaskTiming]:
    """Each task's queueing, running and dbt SQL seconds in a finished run of the platform."""
    from de_sandbox.dbt.artifacts import run_results_dir

    task_instances = api.get_json(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1000)[
        "task_instances"
    ]
    return task_timings(task_instances, dbt_seconds(run_results_dir(platform.settings, dag_id, run_id)))


@contextmanager
def bench_warehouse(bench: BenchSettings) -> Iterator[tuple[Path | None, Callable[[], object] | None]]:
    """The warehouse of the plain and dag.test() builds: a DuckDB file, or a PostgreSQL cluster kept under
    BENCH_DATA_DIR (so the raw tables stay loaded between runs) on a free port, stopped afterwards."""
    if bench.warehouse == "duckdb":
        yield None, None
        return
    import secrets

    from de_sandbox.native.postgres import LocalPostgres
    from de_sandbox.native.processes import free_port

    bench.data_dir.mkdir(parents=True, exist_ok=True)
    pg = LocalPostgres(
        cluster_dir=bench.data_dir / "postgres",
        port=free_port(),
        user="sandbox",
        password=secrets.token_urlsafe(16),
        airflow_db="airflow",
        warehouse_db="warehouse",
    )
    pg.start()
    try:
        with overridden_env(**pg.env()):
            yield pg.pgdata, pg.connect
    finally:
        pg.stop()


def _done(measurement: Measurement, into: list[Measurement]) -> None:
    """Keep a measurement and show it at once: a long run interrupted later still leaves its figures."""
    into.append(measurement)
    m = measurement
    print(f"[bench]   {m.mode}: {m.seconds:.1f} s, peak {m.peak_rss_mb:.0f} MB ({m.state})", flush=True)
    if m.timeline:
        print(format_timeline(m.timeline), flush=True)


def run_bench(bench: BenchSettings, modes: list[str]) -> int:
    from de_sandbox.airflow_env import apply, embedded_env, ensure_metadata_db
    from de_sandbox.dbt.project import dbt_executable, ensure_manifest

    # One environment for dbt, the DAG under dag.test() and the throwaway platforms: they all read it.
    os.environ["WAREHOUSE"] = bench.warehouse
    if bench.project == "scale":
        os.environ["DBT_PROJECT_DIR"] = str(SCALE_BENCH_PROJECT_DIR)
    # The bench builds into a warehouse file of its own, never the one users explore.
    os.environ["DUCKDB_PATH"] = str(bench.data_dir / f"{bench.project}-warehouse.duckdb")
    project = BenchProject(bench, get_settings())
    project.generate()
    embedded = [m for m in modes if m in EMBEDDED_MODES]
    native = [m for m in modes if m in NATIVE_MODES]
    plain: list[Measurement] = []
    rows: list[Measurement] = []
    with bench_warehouse(bench) as (pgdata, conn):
        settings = get_settings()
        project.settings = settings
        env = embedded_env(settings)
        apply(env)
        ensure_metadata_db(env)
        ensure_manifest(settings, dbt_executable())
        dag_file = str(project.dags_dir / f"{project.dag_id}.py")
        print(f"[bench] DAG file parse ({project.dag_id}.py, median of 3 fresh interpreters) ...", flush=True)
        parse = parse_seconds(dag_file)
        print(f"[bench] plain dbt build ({bench.project}, {bench.warehouse}) ...", flush=True)
        _done(plain_dbt_build(project, settings, pgdata, conn), plain)
        for mode in embedded:
            print(f"[bench] {project.dag_id} under dag.test(), Cosmos mode {mode} ...", flush=True)
            _done(dag_test(project, mode, settings, pgdata, conn), rows)
    for mode in native:
        print(f"[bench] {project.dag_id} on a throwaway native platform, {mode} ...", flush=True)
        _done(native_run(project, mode), rows)
    with bench_warehouse(bench) as (pgdata, conn):
        print("[bench] plain dbt build again (to show drift between the two ends of the run) ...", flush=True)
        _done(plain_dbt_build(project, get_settings(), pgdata, conn), plain)

    document = report(bench, [p.seconds for p in plain], rows)
    print(
        f"\n== bench: {bench.project} project, {bench.warehouse}"
        + (f", {bench.rows:,} rows" if project.scale else "")
    )
    print(
        f"   ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; timings on a shared machine are noisy)"
    )
    print(f"  DAG file parse time              {parse:8.2f} s")
    print(
        f"  plain dbt build                  {plain[0].seconds:8.1f} s   (again at the end: {plain[1].seconds:.1f} s)"
        f"  peak {max(p.peak_rss_mb for p in plain):6.0f} MB"
    )
    for m in rows:
        ratio = document["modes"][m.mode]["ratio"]
        print(
            f"  DAG run, {m.mode:<23} {m.seconds:8.1f} s   ratio {ratio:5.2f}x"
            f"  peak {m.peak_rss_mb:6.0f} MB  ({m.state})"
        )
    if bench.json_path:
        bench.json_path.parent.mkdir(parents=True, exist_ok=True)
        bench.json_path.write_text(json.dumps(document, indent=2) + "\n")
        print(f"  figures written to {bench.json_path}")
    everything = [*plain, *rows]
    return 0 if all(m.state == "success" for m in everything) else 1


def _main(args: argparse.Namespace) -> int:
    try:
        bench = get_bench_settings(DEFAULT_MODES)
        modes = parse_modes(args.modes or bench.modes)
    except ValueError as exc:
        print(f"[bench] {exc}", file=sys.stderr)
        return 2
    return run_bench(bench, modes)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="a project's DAG vs a plain dbt build, side by side")
    parser.add_argument(
        "--modes",
        help="comma-separated modes, or 'all' / 'native' (default: BENCH_MODES, else local:dbt_runner)",
    )
    parser.set_defaults(func=_main)
