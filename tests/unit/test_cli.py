"""The CLI behind every Makefile target builds, and each target's subcommand exists."""

from __future__ import annotations

import re

from de_sandbox.cli import build_parser
from de_sandbox.settings import REPO_ROOT


def test_every_subcommand_the_makefile_calls_exists():
    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)
    called = set(re.findall(r"\$\(SANDBOX\) ([a-z][a-z-]+)", (REPO_ROOT / "Makefile").read_text()))
    assert called, "the Makefile calls no de-sandbox subcommand"
    assert called <= commands, f"missing: {called - commands}"


def test_every_make_target_has_a_help_line():
    makefile = (REPO_ROOT / "Makefile").read_text()
    targets = re.findall(r"^([a-z][a-z-]+):", makefile, flags=re.M)
    documented = re.findall(r"^([a-z][a-z-]+):.*## ", makefile, flags=re.M)
    assert set(targets) == set(documented), f"without `## help`: {set(targets) - set(documented)}"
    for required in (
        "demo",
        "test",
        "run",
        "bench",
        "lint",
        "help",
        "up",
        "down",
        "clean",
        "ps",
        "logs",
        "local-up",
        "local-down",
        "local-clean",
    ):
        assert required in documented
