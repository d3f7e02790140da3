"""What a template renders to: names that carry the pipeline's name, a config its schema accepts, a GX suite with
ids, and samples covering every hour of 2026-01-01."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from de_sandbox.ingestion.config import load_config
from de_sandbox.lifecycle.layout import PipelineError
from de_sandbox.lifecycle.names import check_new_name
from de_sandbox.lifecycle.scaffold import TEMPLATES, TEMPLATES_DIR, render, write_all
from de_sandbox.settings import REPO_ROOT


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_rendered_name_carries_the_pipeline_name(template):
    files = render(TEMPLATES_DIR, template, "acme_orders")
    for path in files:
        assert "acme_orders" in str(path), path
        assert (
            "__name__" not in str(path) and b"__name__" not in files[path] and b"__tag__" not in files[path]
        )
    models = sorted(p.stem for p in files if p.suffix == ".sql")
    assert [m.split("__")[0] for m in models] == ["fct_acme_orders", "int_acme_orders", "stg_acme_orders"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_rendered_config_passes_its_schema_and_samples_cover_the_day(template, tmp_path):
    files = render(TEMPLATES_DIR, template, "acme_orders")
    write_all(tmp_path, files)
    config = load_config(tmp_path / "pipelines" / "acme_orders.yml")
    assert config.raw_table == "raw.acme_orders" and config.dbt_tag == "acme_orders"
    samples = sorted(p.name for p in (tmp_path / "seeds" / "acme_orders").iterdir())
    hours = {datetime(2026, 1, 1) + timedelta(hours=h) for h in range(24)}
    covered = {datetime.strptime(name, config.file_pattern).replace(minute=0) for name in samples}
    assert covered == hours
    (suite_file,) = (tmp_path / "great_expectations").rglob("*.json")
    suite = json.loads(suite_file.read_text())
    assert suite["name"] == f"de_sandbox.{config.target_table}" and all(
        e["id"] for e in suite["expectations"]
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("A", "not a lowercase identifier"),
        ("x", "not a lowercase identifier"),
        ("raw", "schema or project name"),
        ("wikipedia_pageviews", "exists already"),
        ("stg_shop__orders", "dbt model or source"),
        ("shop", "clashes with dbt/models/staging/shop"),
    ],
)
def test_names_that_cannot_be_new_pipelines(name, message):
    with pytest.raises(PipelineError, match=message):
        check_new_name(REPO_ROOT, name, [])


def test_a_free_name_passes():
    check_new_name(REPO_ROOT, "acme_orders", ["stg_acme_orders__events"])
