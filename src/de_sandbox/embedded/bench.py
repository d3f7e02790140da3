"""`make bench`: the example DAG against a plain `dbt build` of the same nodes, side by side in one run.

Also times the DAG file's parse and, with BENCH_MODES, compares Cosmos execution/invocation modes.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import time

from de_sandbox.settings import bench_modes, get_settings

DAG_ID = "example_pipeline"
DEFAULT_MODES = "local:dbt_runner"
# WATCHER is not benchmarked: its consumers defer waiting for the producer, and dag.test() runs one task at a
# time, so the first consumer's inline trigger waits forever (seen here; it needs a scheduler and a triggerer).
# native:preload / native:plain run the DAG on a throwaway native platform (real scheduler, one forked process
# per task), with and without the scheduler preloading dbt (de_sandbox.native.preload).
NATIVE_MODES = "native:preload,native:plain"
ALL_MODES = f"local:dbt_runner,local:subprocess,{NATIVE_MODES}"

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


def plain_dbt_build_seconds(select: list[str]) -> float:
    from de_sandbox.dbt.project import dbt_executable, run_dbt

    args = ["build"] + (["--select", *select] if select else [])
    return run_dbt(get_settings(), args, dbt_executable(), target="bench-target").seconds


def dag_seconds(mode: str) -> tuple[float, str]:
    from de_sandbox.embedded.runner import run_dag

    execution, _, invocation = mode.partition(":")
    os.environ["COSMOS_EXECUTION_MODE"] = execution
    if invocation:
        os.environ["COSMOS_INVOCATION_MODE"] = invocation
    else:
        os.environ.pop("COSMOS_INVOCATION_MODE", None)
    started = time.perf_counter()
    result = run_dag(DAG_ID)
    return time.perf_counter() - started, result.state


def native_seconds(mode: str) -> tuple[float, str]:
    """Trigger-to-finish of the DAG through the REST API of a throwaway native platform (DuckDB warehouse)."""
    import dataclasses
    import shutil

    from de_sandbox.airflow_api import AirflowApi
    from de_sandbox.native.platform import Platform, down, up
    from de_sandbox.native.postgres import reachable_tmp_dir

    data_dir = reachable_tmp_dir("de-sandbox-bench-")
    platform = Platform.throwaway(data_dir, warehouse="duckdb")
    platform = dataclasses.replace(platform, scheduler_preload=mode.endswith(":preload"))
    try:
        up(platform)
        api = AirflowApi(platform.api_url, platform.admin_user, platform.admin_password)
        api.login()
        api.wait_for_dag(DAG_ID, timeout=120)
        started = time.perf_counter()
        run_id = api.trigger(DAG_ID)
        state = api.wait_for_run(DAG_ID, run_id, timeout=1800)
        return time.perf_counter() - started, state
    finally:
        down(platform)
        shutil.rmtree(data_dir, ignore_errors=True)


def run_bench(modes: str) -> int:
    from de_sandbox.airflow_env import apply, embedded_env, ensure_metadata_db
    from de_sandbox.dbt.project import dbt_executable, ensure_manifest
    from de_sandbox.orchestration.cosmos import select_for

    # The bench builds into a warehouse file of its own, never the one users explore.
    settings = get_settings()
    settings = dataclasses.replace(settings, duckdb_path=settings.data_dir / "bench" / "warehouse.duckdb")
    env = embedded_env(settings)
    apply(env)
    ensure_metadata_db(env)
    ensure_manifest(settings, dbt_executable())
    dag_file = str(settings.repo_root / "dags" / f"{DAG_ID}.py")
    select = select_for(settings, "shop")

    print(f"[bench] DAG file parse ({DAG_ID}.py, median of 3 fresh interpreters) ...", flush=True)
    parse = parse_seconds(dag_file)
    print("[bench] plain dbt build ...", flush=True)
    plain = plain_dbt_build_seconds(select)
    rows = []
    for mode in [m for m in modes.split(",") if m]:
        print(f"[bench] {DAG_ID} with Cosmos mode {mode} ...", flush=True)
        seconds, state = native_seconds(mode) if mode.startswith("native:") else dag_seconds(mode)
        rows.append((mode, seconds, state))
    print("[bench] plain dbt build again (to show drift between the two ends of the run) ...", flush=True)
    plain_again = plain_dbt_build_seconds(select)

    print(f"\n== bench ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f})")
    print(f"  DAG file parse time            {parse:8.2f} s")
    print(f"  plain dbt build                {plain:8.1f} s   (again at the end: {plain_again:.1f} s)")
    baseline = (plain + plain_again) / 2
    for mode, seconds, state in rows:
        print(f"  DAG run, {mode:<21} {seconds:8.1f} s   ratio {seconds / baseline:5.1f}x  ({state})")
    native = {mode: seconds for mode, seconds, _ in rows if mode.startswith("native:")}
    if len(native) == 2:
        speedup = native["native:plain"] / native["native:preload"]
        print(f"  scheduler preload speed-up on the native platform: {speedup:.1f}x")
    return 0 if all(state == "success" for _, _, state in rows) else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="example DAG vs plain dbt build, side by side")
    parser.add_argument(
        "--modes",
        default=bench_modes(DEFAULT_MODES),
        help=f"comma-separated modes ('all' = {ALL_MODES}; 'native' = {NATIVE_MODES})",
    )
    shorthands = {"all": ALL_MODES, "native": NATIVE_MODES}
    parser.set_defaults(func=lambda args: run_bench(shorthands.get(args.modes, args.modes)))
