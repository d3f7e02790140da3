"""Creates `.env` from `.env.example` on first use, replacing every `change-me` with a fresh random secret."""

from __future__ import annotations

import argparse
import base64
import os
import secrets
from pathlib import Path

from de_sandbox.settings import PLACEHOLDER_SECRET as PLACEHOLDER
from de_sandbox.settings import REPO_ROOT


def _secret_for(key: str) -> str:
    if key == "AIRFLOW_FERNET_KEY":
        # Fernet wants 32 url-safe base64-encoded bytes.
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    return secrets.token_urlsafe(24)


def render_env(example_text: str) -> str:
    lines = []
    for line in example_text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and value.strip() == PLACEHOLDER:
            line = f"{key}={_secret_for(key.strip())}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def ensure_env_file(env_path: Path | None = None, example_path: Path | None = None) -> Path:
    """Write `.env` (mode 600) if it does not exist yet; never overwrite an existing one."""
    env_path = env_path or REPO_ROOT / ".env"
    example_path = example_path or REPO_ROOT / ".env.example"
    if env_path.exists():
        return env_path
    env_path.write_text(render_env(example_path.read_text()))
    env_path.chmod(0o600)
    print(f"[de-sandbox] created {env_path} with fresh secrets", flush=True)
    return env_path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("init-env", help="create .env from .env.example with fresh secrets")
    parser.set_defaults(func=lambda args: ensure_env_file() and 0)
