"""`.env` generation: every placeholder becomes a fresh secret, a Fernet key is valid, an existing file is kept."""

from __future__ import annotations

from cryptography.fernet import Fernet

from de_sandbox.envfile import PLACEHOLDER, ensure_env_file, render_env
from de_sandbox.settings import REPO_ROOT


def _values(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
    return dict(pairs)


def test_every_placeholder_gets_a_distinct_secret():
    example = (REPO_ROOT / ".env.example").read_text()
    placeholders = [k for k, v in _values(example).items() if v == PLACEHOLDER]
    assert {"AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "POSTGRES_PASSWORD"} <= set(placeholders)
    first, second = _values(render_env(example)), _values(render_env(example))
    for key in placeholders:
        assert first[key] != PLACEHOLDER and first[key] != second[key], f"{key} is not random"
        # At least 128 bits: base64 carries 6 bits a character.
        assert len(first[key]) * 6 >= 128 + 6, f"{key} has only {len(first[key]) * 6} bits"
    Fernet(first["AIRFLOW_FERNET_KEY"].encode())


def test_non_secret_settings_are_copied_verbatim():
    example = (REPO_ROOT / ".env.example").read_text()
    rendered = _values(render_env(example))
    assert rendered["WAREHOUSE"] == "duckdb"
    assert rendered["AIRFLOW_PORT"] == "8080"


def test_existing_env_file_is_never_overwritten(tmp_path):
    env = tmp_path / ".env"
    example = tmp_path / ".env.example"
    example.write_text(f"SECRET={PLACEHOLDER}\n")
    ensure_env_file(env, example)
    first = env.read_text()
    assert oct(env.stat().st_mode & 0o777) == "0o600"
    ensure_env_file(env, example)
    assert env.read_text() == first
