"""Settings come from the environment and `.env`, relative paths resolve against the repo, bad values are named."""

from __future__ import annotations

import pytest

from de_sandbox.settings import REPO_ROOT, get_settings, load_dotenv_file


def test_relative_paths_resolve_against_the_repo(monkeypatch):
    monkeypatch.setenv("DUCKDB_PATH", "somewhere/w.duckdb")
    monkeypatch.setenv("DBT_PROJECT_DIR", "dbt")
    settings = get_settings()
    assert settings.duckdb_path == REPO_ROOT / "somewhere" / "w.duckdb"
    assert settings.dbt_project_dir == REPO_ROOT / "dbt"


def test_unknown_warehouse_is_refused(monkeypatch):
    monkeypatch.setenv("WAREHOUSE", "oracle")
    with pytest.raises(
        ValueError, match="WAREHOUSE='oracle' is not supported; choose one of duckdb, postgres"
    ):
        get_settings()


def test_dotenv_fills_only_unset_variables(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nDE_T_A=from-file\nexport DE_T_B='quoted value'\nDE_T_C=from-file\n")
    monkeypatch.setenv("DE_T_C", "from-env")
    monkeypatch.delenv("DE_T_A", raising=False)
    monkeypatch.delenv("DE_T_B", raising=False)
    load_dotenv_file(env_file)
    import os

    assert os.environ["DE_T_A"] == "from-file"
    assert os.environ["DE_T_B"] == "quoted value"
    assert os.environ["DE_T_C"] == "from-env"
    for key in ("DE_T_A", "DE_T_B"):
        monkeypatch.delenv(key)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, True), ("false", False), ("No", False), ("0", False), ("TRUE", True), ("1", True)],
)
def test_env_flag_reads_yes_no_values(monkeypatch, value, expected):
    from de_sandbox.settings import env_flag

    if value is None:
        monkeypatch.delenv("SOME_FLAG", raising=False)
    else:
        monkeypatch.setenv("SOME_FLAG", value)
    assert env_flag("SOME_FLAG", True) is expected


def test_dotenv_reads_like_compose_inline_comments_quotes_and_export(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "WAREHOUSE=postgres  # later\n"
        "export DE_T_EXPORTED=yes\n"
        'DE_T_DOUBLE="a # not a comment"\n'
        "DE_T_HASH=abc#def\n"
    )
    for key in ("WAREHOUSE", "DE_T_EXPORTED", "DE_T_DOUBLE", "DE_T_HASH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DE_SANDBOX_ENV_FILE", str(env_file))
    assert get_settings().warehouse == "postgres"
    import os

    assert os.environ["DE_T_EXPORTED"] == "yes"
    assert os.environ["DE_T_DOUBLE"] == "a # not a comment"
    assert os.environ["DE_T_HASH"] == "abc#def"
    for key in ("WAREHOUSE", "DE_T_EXPORTED", "DE_T_DOUBLE", "DE_T_HASH"):
        monkeypatch.delenv(key)


NASTY_PASSWORD = "p@ss:w/rd%20#x"


def test_postgres_urls_quote_the_password_for_sqlalchemy_and_airflow(monkeypatch):
    from airflow.models.connection import Connection
    from sqlalchemy.engine import make_url

    from de_sandbox.airflow_env import warehouse_conn_uri

    monkeypatch.setenv("POSTGRES_PASSWORD", NASTY_PASSWORD)
    monkeypatch.setenv("POSTGRES_USER", "us@er")
    monkeypatch.setenv("WAREHOUSE", "postgres")
    settings = get_settings()
    url = make_url(settings.postgres_warehouse_url)
    assert (url.username, url.password, url.database) == ("us@er", NASTY_PASSWORD, "warehouse")
    conn = Connection(conn_id="warehouse", uri=warehouse_conn_uri(settings))
    assert (conn.login, conn.password, conn.schema, conn.port) == ("us@er", NASTY_PASSWORD, "warehouse", 5432)


def test_every_setting_is_read_in_settings_py():
    """os.getenv / os.environ reads live in settings.py only; writes (handing env to a child) are fine."""
    import ast

    package = REPO_ROOT / "src" / "de_sandbox"
    # The host-side compose helper runs on a bare python3 and reads Compose's own variables.
    exempt = {package / "settings.py", package / "compose" / "preflight.py"}
    reads = []
    for path in sorted(set(package.rglob("*.py")) - exempt):
        for node in ast.walk(ast.parse(path.read_text())):
            target = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                target = ast.unparse(node.func)
                if target not in ("os.getenv", "os.environ.get", "os.environ.setdefault"):
                    target = None
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                target = ast.unparse(node.value) if ast.unparse(node.value) == "os.environ" else None
            if target:
                reads.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {target}")
    assert not reads, "settings read outside settings.py:\n" + "\n".join(reads)


def test_every_setting_is_listed_in_env_example():
    """settings.py is the one reader, .env.example the one list users edit: the two name the same settings."""
    import re

    source = (REPO_ROOT / "src" / "de_sandbox" / "settings.py").read_text()
    read = set(re.findall(r'(?:os\.getenv|_path|env_flag|_source_location)\("([A-Z][A-Z0-9_]*)"', source))
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (REPO_ROOT / ".env.example").read_text(), re.M))
    # Where the settings come from (the repo and the .env file), and make-bench arguments.
    internal = {
        "DE_SANDBOX_ROOT",
        "DE_SANDBOX_ENV_FILE",
        "BENCH_MODES",
        "BENCH_ROWS",
        "BENCH_JSON",
        "BENCH_DATA_DIR",
        "BENCH_INGEST_DIR",
        "DE_SANDBOX_RUNTIME",
    }
    assert len(read) > 20
    assert not read - listed - internal, (
        f"read in settings.py but not in .env.example: {read - listed - internal}"
    )
