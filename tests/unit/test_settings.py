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
