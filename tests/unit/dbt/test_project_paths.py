"""The dbt project helpers: names and errors for bad project folders, manifest paths kept out of the project."""

from __future__ import annotations

import os

import pytest

from de_sandbox.dbt.project import DbtProjectError, _source_fingerprint, dbt_project_name, manifest_path
from de_sandbox.settings import get_settings


def test_project_name_comes_from_dbt_project_yml():
    assert dbt_project_name(get_settings().dbt_project_dir) == "de_sandbox"


def test_missing_project_names_the_setting(tmp_path):
    with pytest.raises(DbtProjectError, match="no dbt project at .*check DBT_PROJECT_DIR"):
        dbt_project_name(tmp_path)


def test_project_without_name_is_refused(tmp_path):
    (tmp_path / "dbt_project.yml").write_text("version: '1.0'\n")
    with pytest.raises(DbtProjectError, match="has no `name:`"):
        dbt_project_name(tmp_path)


def test_manifest_lives_in_the_data_folder_per_project_and_warehouse(monkeypatch):
    settings = get_settings()
    path = manifest_path(settings)
    assert path.is_relative_to(settings.data_dir)
    assert "de_sandbox-duckdb" in str(path)
    assert not path.is_relative_to(settings.dbt_project_dir)


def test_node_relations_name_each_warehouse_node_as_dbt_built_it(tmp_path):
    import dataclasses
    import json

    from de_sandbox.dbt.project import node_relations

    settings = dataclasses.replace(get_settings(), data_dir=tmp_path)
    node = {"database": "wh", "schema": "marts", "depends_on": {"nodes": ["source.p.raw.events"]}}
    manifest = {
        "nodes": {
            "model.p.fct": {**node, "resource_type": "model", "name": "fct", "alias": "fct_v2"},
            "model.p.eph": {
                **node,
                "resource_type": "model",
                "name": "eph",
                "config": {"materialized": "ephemeral"},
            },
            "test.p.not_null": {**node, "resource_type": "test", "name": "not_null", "alias": "not_null"},
        },
        "sources": {
            "source.p.raw.events": {
                "database": "wh",
                "schema": "raw",
                "resource_type": "source",
                "name": "events",
                "identifier": "events_2026",
            },
        },
    }
    manifest_path(settings).parent.mkdir(parents=True)
    manifest_path(settings).write_text(json.dumps(manifest))
    relations = node_relations(settings)
    assert set(relations) == {"model.p.fct", "source.p.raw.events"}
    fct = relations["model.p.fct"]
    assert (fct.database, fct.schema, fct.identifier, fct.parents) == (
        "wh",
        "marts",
        "fct_v2",
        ("source.p.raw.events",),
    )
    assert relations["source.p.raw.events"].identifier == "events_2026"


def test_deleting_a_model_file_makes_the_manifest_stale(tmp_path):
    """A removed model must trigger a fresh parse, though no remaining file is newer than the manifest."""
    folder = tmp_path / "models" / "marts"
    folder.mkdir(parents=True)
    (folder / "a.sql").write_text("select 1\n")
    (folder / "b.sql").write_text("select 2\n")
    for path in (folder / "a.sql", folder / "b.sql", folder, folder.parent, tmp_path):
        os.utime(path, (1_000_000, 1_000_000))
    manifest_time = _source_fingerprint(tmp_path) + 1
    (folder / "b.sql").unlink()
    assert _source_fingerprint(tmp_path) > manifest_time
