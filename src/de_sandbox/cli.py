"""`de-sandbox` command line: the Makefile's targets call these subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

# Each entry registers one subcommand: register(subparsers) adds a parser whose `func` handles it.
Registrar = Callable[[argparse._SubParsersAction], None]


def _registrars() -> list[Registrar]:
    from de_sandbox import envfile
    from de_sandbox.compose import checks, preflight
    from de_sandbox.dbt import cli as dbt_cli
    from de_sandbox.embedded import bench, bench_ingest, commands
    from de_sandbox.ingestion import listing, samples
    from de_sandbox.lifecycle import cli as lifecycle_cli
    from de_sandbox.lineage import cli as lineage_cli
    from de_sandbox.metrics import exporter
    from de_sandbox.native import apt, objectstore, platform
    from de_sandbox.quality import cli as quality_cli

    return [
        bench.register,
        bench_ingest.register,
        preflight.register,
        checks.register,
        envfile.register,
        exporter.register,
        platform.register,
        quality_cli.register,
        commands.register,
        apt.register,
        objectstore.register,
        samples.register,
        lineage_cli.register,
        lifecycle_cli.register,
        dbt_cli.register,
        listing.register,
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="de-sandbox", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for register in _registrars():
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
