"""`de-sandbox pipeline-new | pipeline-check | pipeline-remove`: the Makefile's pipeline targets. Every refusal is
one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys
import time

from de_sandbox.lifecycle.layout import PipelineError, PipelineLayout
from de_sandbox.settings import get_settings


def _refused(error: Exception) -> int:
    print(f"[de-sandbox] {error}", file=sys.stderr)
    return 2


def _new(args: argparse.Namespace) -> int:
    from de_sandbox.lifecycle.scaffold import new_pipeline, next_steps

    settings = get_settings()
    started = time.perf_counter()
    try:
        written = new_pipeline(settings, args.name, args.template)
    except PipelineError as error:
        return _refused(error)
    layout = PipelineLayout(settings.repo_root, args.name)
    samples = [path for path in written if path.parent == layout.sample_dir]
    print(
        f"[de-sandbox] pipeline {args.name} ({args.template}) written in {time.perf_counter() - started:.1f} s:"
    )
    for path in written:
        if path.parent != layout.sample_dir:
            print(f"  {layout.relative(path)}")
    print(f"  {layout.relative(layout.sample_dir)}/ ({len(samples)} sample files covering 2026-01-01 UTC)")
    print("next:")
    print("\n".join(f"  {step}" for step in next_steps(args.name)))
    return 0


def _check(args: argparse.Namespace) -> int:
    from de_sandbox.lifecycle.check import check

    try:
        return check(get_settings(), args.name)
    except PipelineError as error:
        return _refused(error)


def _remove(args: argparse.Namespace) -> int:
    from de_sandbox.lifecycle.remove import remove

    try:
        return remove(get_settings(), args.name, args.confirm)
    except PipelineError as error:
        return _refused(error)


def register(subparsers: argparse._SubParsersAction) -> None:
    new = subparsers.add_parser("pipeline-new", help="scaffold a working pipeline from a template")
    new.add_argument("name")
    new.add_argument("--template", default="files", help="files (default) or http-json")
    new.set_defaults(func=_new)
    check = subparsers.add_parser(
        "pipeline-check", help="validate, parse, import and build a pipeline's changes"
    )
    check.add_argument("name")
    check.set_defaults(func=_check)
    remove = subparsers.add_parser(
        "pipeline-remove", help="list (or with --confirm remove) all of a pipeline"
    )
    remove.add_argument("name")
    remove.add_argument("--confirm", action="store_true", help="archive, then remove")
    remove.set_defaults(func=_remove)
