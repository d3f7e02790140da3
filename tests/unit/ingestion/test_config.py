"""Pipeline configs: the bundled ones load; a bad one reports every problem at once, each with its field path,
the bad value and what is expected."""

from __future__ import annotations

import copy

import pytest
import yaml
from jsonschema import Draft202012Validator

from de_sandbox.ingestion.config import (
    SCHEMA_PATH,
    PipelineConfigError,
    _schema,
    load_config,
    pipeline_names,
    validation_errors,
)
from de_sandbox.settings import REPO_ROOT

PARKING = yaml.safe_load((REPO_ROOT / "pipelines" / "stavanger_parking.yml").read_text())


def errors_of(change, name: str = "stavanger_parking") -> list[str]:
    document = copy.deepcopy(PARKING)
    change(document)
    return validation_errors(name, document)


def test_the_committed_schema_is_a_valid_json_schema():
    Draft202012Validator.check_schema(_schema())
    assert SCHEMA_PATH == REPO_ROOT / "pipelines" / "pipeline.schema.json"


def test_both_bundled_pipelines_are_configs_that_validate():
    assert {"wikipedia_pageviews", "stavanger_parking"} <= set(pipeline_names())
    pageviews = load_config("wikipedia_pageviews")
    assert pageviews.raw_table == "raw.wikipedia_pageviews"
    assert pageviews.raw_columns == (
        "window_start",
        "domain_code",
        "page_title",
        "count_views",
        "total_response_size",
        "source_file",
        "record_no",
        "loaded_at",
    )
    assert "    page_title varchar(1000) not null," in pageviews.raw_ddl
    parking = load_config("stavanger_parking")
    assert (parking.format, parking.source_kind, parking.dbt_tag) == ("parking", "http", "parking")
    assert "    latitude double precision,\n" in parking.raw_ddl
    assert parking.phases == ("check_stale", "extract", "load", "dbt", "audit", "validate", "archive")


def test_several_errors_are_reported_at_once_each_with_path_value_and_expectation():
    def break_it(d):
        d["owner"] = ""
        d["source"]["kind"] = "ftp"
        d["schedule"]["cron"] = "every hour"
        d["raw"]["columns"][1]["type"] = "text"
        d["raw"]["keys"] = ["nope"]
        d["colour"] = "blue"
        del d["retries"]
        d["audit"]["tolerance_pct"] = 200

    errors = errors_of(break_it)
    assert errors == sorted(errors)
    expected = [
        'owner: ""; expected a non-empty owner',
        'source.kind: "ftp"; expected one of files, http',
        'schedule.cron: "every hour"; expected @hourly, @daily',
        'raw.columns[1].type: "text"; expected one of varchar, varchar(n), integer',
        'raw.keys[0]: "nope"; expected one of the raw columns',
        'colour: "colour" is not a known field; expected one of audit, dbt',
        "retries: missing; expected a value (required)",
        "audit.tolerance_pct: 200; expected a percentage from 0 to 100",
    ]
    for line in expected:
        assert any(e.startswith(line) for e in errors), f"{line!r} not in {errors}"
    # The parking format fixes its columns: a changed type is named there too.
    assert any(e.startswith("raw.columns: not the columns format parking produces") for e in errors)


def test_format_options_are_checked_against_the_format_named():
    def delimited(d):
        d["source"]["format"] = "delimited"
        d["source"]["options"] = {"delimiter": ";;", "quote": "'"}

    errors = errors_of(delimited)
    assert 'source.options.delimiter: ";;"; expected one character' in errors
    assert any(e.startswith('source.options.quote: "quote" is not a known field') for e in errors)

    def parking_with_options(d):
        d["source"]["options"] = {"records_path": "data"}

    assert errors_of(parking_with_options) == [
        'source.options: {"records_path": "data"}; expected no options (an empty mapping)'
    ]


def test_phases_need_what_they_use():
    def no_dbt_section(d):
        del d["dbt"]
        del d["target"]

    assert errors_of(no_dbt_section) == [
        "dbt: missing; expected a value (required)",
        "target: missing; expected a value (required)",
    ]

    def without_load(d):
        d["phases"] = ["extract", "archive"]
        del d["dbt"]
        del d["target"]

    assert errors_of(without_load) == ['phases: ["extract", "archive"]; expected a list that includes load']


def test_names_must_agree_with_the_file_and_the_format():
    assert errors_of(lambda d: None, name="Parking-2") == [
        '(file name): "Parking-2"; expected a lowercase identifier (a-z, 0-9, _; starts with a letter)',
        'raw.table: "raw.stavanger_parking"; expected raw.Parking-2 (the pipeline\'s name)',
    ]
    assert errors_of(lambda d: d["source"].update(kind="files")) == [
        'source.kind: "files"; expected http for format parking'
    ]


def test_reserved_and_repeated_column_names_are_refused():
    def generic(d):
        d["source"]["format"] = "json_records"
        d["raw"]["columns"] = [
            {"name": "loaded_at", "type": "timestamp"},
            {"name": "house", "type": "varchar"},
            {"name": "house", "type": "integer", "time_format": "%H"},
        ]
        d["raw"]["keys"] = ["house"]

    errors = errors_of(generic)
    assert errors[0].startswith(
        'raw.columns[0].name: "loaded_at"; expected a lowercase identifier other than'
    )
    assert 'raw.columns[2].name: "house"; expected a name not used before' in errors
    assert 'raw.columns[2].time_format: "%H"; expected only on a date or timestamp column' in errors


def test_load_config_reads_pipelines_dir_and_lists_every_problem(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path))
    monkeypatch.setenv("DE_SANDBOX_ENV_FILE", str(tmp_path / "no.env"))
    document = copy.deepcopy(PARKING)
    document["owner"], document["tags"] = 7, []
    (tmp_path / "stavanger_parking.yml").write_text(yaml.safe_dump(document))
    assert pipeline_names() == ["stavanger_parking"]
    with pytest.raises(PipelineConfigError) as failure:
        load_config("stavanger_parking")
    assert failure.value.errors == [
        "owner: 7; expected a non-empty owner (team or person) shown on every task",
        "tags: []; expected a list of at least 1 item(s)",
    ]
    assert "2 error(s)" in str(failure.value)


def test_yaml_syntax_and_missing_files_are_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES_DIR", str(tmp_path))
    monkeypatch.setenv("DE_SANDBOX_ENV_FILE", str(tmp_path / "no.env"))
    (tmp_path / "broken.yml").write_text("owner: a\nsource: [unclosed\n")
    with pytest.raises(PipelineConfigError) as failure:
        load_config("broken")
    assert failure.value.errors[0].startswith("(YAML) line 3, column 1:")
    with pytest.raises(PipelineConfigError) as missing:
        load_config("nope")
    assert missing.value.errors == [
        f"(file) no pipeline config at {tmp_path / 'nope.yml'}; expected one of: broken"
    ]
