"""Every bad input of the pipeline commands ends with one clear line on stderr, a non-zero exit and nothing
half-written: git status of the fresh clone stays as it was."""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import datetime

import pytest

from de_sandbox.lifecycle.layout import PipelineError
from de_sandbox.lifecycle.scaffold import TEMPLATES_DIR, new_pipeline
from de_sandbox.settings import get_settings

pytestmark = pytest.mark.integration


def _refused(result, *words: str) -> str:
    """Exit 2 and exactly one line of our own on stderr (make adds its `*** Error` line after it)."""
    ours = [line for line in result.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
    assert result.returncode != 0, result.stdout
    assert len(ours) == 1 and ours[0].startswith("[de-sandbox] "), result.stderr
    for word in words:
        assert word in ours[0], ours[0]
    return ours[0]


@pytest.mark.parametrize(
    ("name", "template", "words"),
    [
        ("Shop-Events", "files", ("not a lowercase identifier",)),
        ("9lives", "files", ("not a lowercase identifier",)),
        ("stavanger_parking", "files", ("exists already", "pipelines/stavanger_parking.yml")),
        ("example_pipeline", "files", ("DAG example_pipeline exists already",)),
        ("fct_orders", "files", ("clashes with the dbt model or source fct_orders",)),
        ("wikipedia", "http-json", ("clashes with the dbt model or source wikipedia",)),
        ("marts", "files", ("schema or project name",)),
        ("shop_events", "xml", ("TEMPLATE='xml' is not a template",)),
    ],
)
def test_pipeline_new_refuses_bad_names_and_templates(clone, name, template, words):
    before = clone.git_status()
    line = _refused(clone.make("pipeline-new", f"NAME={name}", f"TEMPLATE={template}"), *words)
    assert "choose another name" in line or ": use " in line
    assert clone.git_status() == before


def test_a_failed_scaffold_removes_what_it_wrote(clone, tmp_path):
    """A template whose config fails the schema: the scaffold writes every file, validates, then takes all back."""
    templates = shutil.copytree(TEMPLATES_DIR, tmp_path / "templates")
    config = templates / "files" / "pipelines" / "__name__.yml"
    config.write_text(config.read_text().replace("owner: data-engineering", "owner: ''"))
    settings = dataclasses.replace(get_settings(), repo_root=clone.root)
    before = clone.git_status()
    with pytest.raises(PipelineError, match=r"fails its schema: .*owner"):
        new_pipeline(settings, "half_written", "files", templates)
    assert clone.git_status() == before
    assert not (clone.root / "seeds" / "half_written").exists()
    assert not (clone.root / "dbt" / "models" / "staging" / "half_written").exists()


def test_pipeline_check_lists_every_config_error_then_one_line(clone):
    before = clone.git_status()
    assert clone.make("pipeline-new", "NAME=bad_config").returncode == 0
    config = clone.root / "pipelines" / "bad_config.yml"
    text = (
        config.read_text().replace('cron: "@hourly"', 'cron: "every hour"').replace("count: 2", "count: 99")
    )
    config.write_text(text)
    result = clone.make("pipeline-check", "NAME=bad_config")
    _refused(result, "pipelines/bad_config.yml has 2 error(s)", "make pipeline-check NAME=bad_config")
    assert 'schedule.cron: "every hour"; expected' in result.stdout, result.stdout
    assert "retries.count: 99; expected" in result.stdout, result.stdout
    assert clone.make("pipeline-remove", "NAME=bad_config", "CONFIRM=1").returncode == 0
    assert clone.git_status() == before


def test_pipeline_check_refuses_a_missing_sample(clone):
    before = clone.git_status()
    assert clone.make("pipeline-new", "NAME=no_sample", "TEMPLATE=http-json").returncode == 0
    shutil.rmtree(clone.root / "seeds" / "no_sample")
    _refused(clone.make("pipeline-check", "NAME=no_sample"), "no sample data", "NO_SAMPLE_URL")
    assert clone.make("pipeline-remove", "NAME=no_sample", "CONFIRM=1").returncode == 0
    assert clone.git_status() == before


def test_pipeline_check_of_an_unknown_pipeline(clone):
    _refused(clone.make("pipeline-check", "NAME=nothing_here"), "make pipeline-new NAME=nothing_here")


@pytest.mark.parametrize("name", ["nothing_here", "Bad-Name"])
def test_pipeline_remove_refuses_an_unknown_pipeline(clone, name):
    before = clone.git_status()
    _refused(clone.make("pipeline-remove", f"NAME={name}", "CONFIRM=1"), "make pipeline-list")
    assert clone.git_status() == before


def test_pipeline_remove_refuses_while_a_run_is_active(clone, monkeypatch):
    """A phase of the pipeline is `running` in the ledger (as while a task works): removal refuses and changes
    nothing; once the phase ends it removes everything."""
    from de_sandbox.ingestion import ledger

    before = clone.git_status()
    assert clone.make("pipeline-new", "NAME=busy_one").returncode == 0
    for variable in ("DUCKDB_PATH", "DATA_DIR", "DE_SANDBOX_ENV_FILE"):
        monkeypatch.setenv(variable, clone.env[variable])
    monkeypatch.setenv("WAREHOUSE", "duckdb")
    (clone.root / "data").mkdir(exist_ok=True)
    with ledger.phase("busy_one", datetime(2026, 1, 1, 3), datetime(2026, 1, 1, 4), "load", "manual__busy"):
        _refused(clone.make("pipeline-remove", "NAME=busy_one", "CONFIRM=1"), "run in progress", "phase load")
        assert (clone.root / "pipelines" / "busy_one.yml").exists()
    result = clone.make("pipeline-remove", "NAME=busy_one", "CONFIRM=1")
    assert result.returncode == 0, result.stderr
    assert "ops.run_ledger: 1 of pipeline busy_one" in result.stdout
    assert clone.git_status() == before
