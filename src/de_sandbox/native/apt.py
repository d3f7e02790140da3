"""Installs the Debian packages a native run or the test suite needs (prometheus, chromium, ...) when missing."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess

# package name -> the executable that proves it is installed
KNOWN_PACKAGES = {
    "prometheus": "prometheus",
    "prometheus-pushgateway": "prometheus-pushgateway",
    "chromium": "chromium",
    "redis-server": "redis-server",
}


def missing(packages: list[str]) -> list[str]:
    return [p for p in packages if shutil.which(KNOWN_PACKAGES.get(p, p)) is None]


def ensure_apt_packages(packages: list[str]) -> None:
    """apt-get install what is missing; raise with a clear message when that is impossible."""
    todo = missing(packages)
    if not todo:
        return
    prefix: list[str] = []
    if os.geteuid() != 0:
        if shutil.which("sudo") is None:
            raise RuntimeError(f"missing system packages {todo}: install them with apt-get (needs root)")
        prefix = ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"[de-sandbox] installing system packages: {' '.join(todo)}", flush=True)
    subprocess.run([*prefix, "apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*prefix, "apt-get", "install", "-y", "-qq", "--no-install-recommends", *todo], check=True, env=env
    )
    still = missing(todo)
    if still:
        raise RuntimeError(f"apt-get finished but these are still missing: {still}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("ensure-packages", help="apt-get install missing Debian packages")
    parser.add_argument("packages", nargs="+")
    parser.set_defaults(func=lambda args: ensure_apt_packages(args.packages))
