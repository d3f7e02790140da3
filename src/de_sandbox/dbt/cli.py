"""`make dbt ARGS="..."`: any dbt command on the sandbox's project, profile and warehouse (the same paths, target
and environment the DAGs use), so working on a model needs no hand-made profile."""

from __future__ import annotations

import argparse
import subprocess
import sys

from de_sandbox.dbt.project import DbtProjectError, dbt_executable, run_dbt
from de_sandbox.settings import get_settings

USAGE = 'usage: make dbt ARGS="<dbt command>", e.g. make dbt ARGS="build --select stg_shop__orders+"'


def run(args: argparse.Namespace) -> int:
    dbt_args = args.dbt_args[1:] if args.dbt_args[:1] == ["--"] else args.dbt_args
    if not dbt_args:
        print(f"[de-sandbox] no dbt command given; {USAGE}", file=sys.stderr)
        return 2
    if dbt_args[0].startswith("-"):
        # A global flag (--version, --help) takes no project, profile or target.
        return subprocess.run([dbt_executable(), *dbt_args]).returncode
    settings = get_settings()
    print(
        f"[de-sandbox] dbt {' '.join(dbt_args)} (project {settings.dbt_project_dir}, target {settings.dbt_target})",
        flush=True,
    )
    try:
        result = run_dbt(settings, dbt_args, dbt_executable(), check=False, stream=True)
    except (DbtProjectError, OSError) as error:
        print(f"[de-sandbox] {error}", file=sys.stderr)
        return 2
    return result.returncode


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dbt", help="run any dbt command on the sandbox's project, profile, warehouse"
    )
    parser.add_argument("dbt_args", nargs=argparse.REMAINDER, help="the dbt command and its arguments")
    parser.set_defaults(func=run)
