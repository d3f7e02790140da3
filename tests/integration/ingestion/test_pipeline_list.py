"""`make pipeline-list` on a real DuckDB warehouse: "never run" before the warehouse exists, then each
pipeline's last window, its last status and row counts as ingestion runs; a broken config is listed with its
errors and does not hide the others."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime, timedelta

import pytest

from de_sandbox.cli import main
from de_sandbox.ingestion.phases import extract, load
from de_sandbox.ingestion.sources import pipeline
from de_sandbox.settings import REPO_ROOT

pytestmark = pytest.mark.integration

HOUR = datetime(2026, 1, 1, 5)


def listed(capsys) -> dict[str, list[str]]:
    assert main(["pipeline-list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = lines[0]
    starts = [
        header.index(title)
        for title in ("SCHEDULE", "LAST WINDOW", "LAST STATUS", "RAW ROWS", "LAST LOAD", "TARGET")
    ]
    rows = {}
    for line in lines[1:]:
        if not line or line.startswith(("warehouse:", " ", "/")):
            break
        bounds = [0, *starts, len(line) + 1]
        rows[line.split()[0]] = [line[a:b].strip() for a, b in zip(bounds, bounds[1:], strict=False)][1:]
    rows["_out"] = [out]
    return rows


def test_list_before_any_run_and_after_runs(ingestion_env, capsys):
    before = listed(capsys)
    assert before["wikipedia_pageviews"] == ["@hourly UTC", "never run", "-", "-", "-", "-"]
    assert before["stavanger_parking"] == ["@hourly UTC", "never run", "-", "-", "-", "-"]
    assert "does not exist yet: no pipeline has run" in before["_out"][0]

    spec = pipeline("wikipedia_pageviews")
    keys = extract(spec, HOUR, HOUR + timedelta(hours=1), "run-1")
    load(spec, HOUR, HOUR + timedelta(hours=1), keys, "run-1")
    after = listed(capsys)
    assert after["wikipedia_pageviews"] == [
        "@hourly UTC",
        "2026-01-01 05:00",
        "success (load)",
        "300",
        "300/300/0",
        "-",
    ]
    # The ledger exists now, but holds nothing of parking.
    assert after["stavanger_parking"] == ["@hourly UTC", "never run", "-", "-", "-", "-"]

    # A later window whose file is missing: the list shows it failed, the raw rows of earlier windows stay.
    missing = datetime(2026, 1, 3)
    with pytest.raises(FileNotFoundError):
        extract(spec, missing, missing + timedelta(hours=1), "run-2")
    failed = listed(capsys)
    assert failed["wikipedia_pageviews"] == [
        "@hourly UTC",
        "2026-01-03 00:00",
        "failed (extract)",
        "300",
        "-",
        "-",
    ]


def test_a_broken_config_is_listed_with_its_errors(ingestion_env, tmp_path, monkeypatch, capsys):
    configs = tmp_path / "pipelines"
    configs.mkdir()
    shutil.copy(REPO_ROOT / "pipelines" / "stavanger_parking.yml", configs)
    (configs / "broken.yml").write_text("owner: someone\nschedule: {cron: sometimes}\n")
    monkeypatch.setenv("PIPELINES_DIR", str(configs))
    rows = listed(capsys)
    assert rows["stavanger_parking"][1] == "never run"
    assert rows["broken"][:2] == ["-", "-"] and rows["broken"][2].startswith("invalid config (")
    out = rows["_out"][0]
    assert 'schedule.cron: "sometimes"; expected @hourly, @daily' in out
    assert "description: missing; expected a value (required)" in out


def test_make_pipeline_list_works_without_a_warehouse(tmp_path):
    env = {
        "DE_SANDBOX_ENV_FILE": str(tmp_path / "no.env"),
        "DUCKDB_PATH": str(tmp_path / "none" / "w.duckdb"),
    }
    result = subprocess.run(
        ["make", "--no-print-directory", "pipeline-list"],
        cwd=REPO_ROOT,
        env={**os.environ, **env, "WAREHOUSE": "duckdb"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    assert "wikipedia_pageviews" in result.stdout and "never run" in result.stdout
    assert not (tmp_path / "none").exists(), "listing must not create a warehouse"
