"""`de-sandbox gx-validate` runs the data quality checks; `de-sandbox gx-config` rewrites the GX config."""

from __future__ import annotations

import argparse

from de_sandbox.settings import get_settings


def _validate(args: argparse.Namespace) -> int:
    from de_sandbox.quality.validate import DataQualityError, format_report, validate

    try:
        report = validate(get_settings(), args.project)
    except DataQualityError as error:
        print(error)
        return 1
    print(format_report(report))
    return 0


def _config(args: argparse.Namespace) -> int:
    from de_sandbox.dbt.project import dbt_project_name
    from de_sandbox.quality.context import build_checkpoints, open_context

    settings = get_settings()
    project = args.project or dbt_project_name(settings.dbt_project_dir)
    checkpoints = build_checkpoints(open_context(settings), project, settings.warehouse)
    print(f"{len(checkpoints)} checkpoints for {project!r} ({settings.warehouse}) in {settings.gx_root_dir}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    validate = subparsers.add_parser("gx-validate", help="validate warehouse tables with Great Expectations")
    validate.add_argument("--project", help="dbt project name (default: the name in DBT_PROJECT_DIR)")
    validate.set_defaults(func=_validate)
    config = subparsers.add_parser("gx-config", help="write the GX suites, validations and checkpoints")
    config.add_argument("--project", help="dbt project name (default: the name in DBT_PROJECT_DIR)")
    config.set_defaults(func=_config)
