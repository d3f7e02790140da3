"""Pipeline configs: `pipelines/<name>.yml`, checked against the committed JSON Schema and against the format it
names, every error at once (field path, bad value, what is expected), then read into a `PipelineConfig`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from de_sandbox.ingestion.formats import (
    FORMATS,
    LINEAGE_COLUMNS,
    SOURCE_KINDS,
    WINDOW_COLUMN,
    Column,
    Format,
    Layout,
)
from de_sandbox.settings import REPO_ROOT, pipelines_dir

SCHEMA_PATH = REPO_ROOT / "pipelines" / "pipeline.schema.json"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# The order the phases chain in; a config picks which of them run.
PHASES = ("check_stale", "extract", "load", "dbt", "audit", "validate", "archive")
_SHOWN_VALUE_CHARS = 80


class PipelineConfigError(ValueError):
    """A config that cannot be used: `errors` holds one line per problem, all of them."""

    def __init__(self, path: Path, errors: list[str]) -> None:
        self.path, self.errors = path, errors
        lines = "\n".join(f"  {error}" for error in errors)
        super().__init__(f"{path}: {len(errors)} error(s):\n{lines}")


@dataclass(frozen=True)
class PipelineConfig:
    """One validated pipeline config; `name` is its file stem (DAG id, ledger name, object-key prefix)."""

    name: str
    path: Path
    owner: str
    description: str
    tags: tuple[str, ...]
    cron: str
    timezone: str
    start_date: datetime
    catchup: bool
    source_kind: str
    location: str
    location_setting: str | None
    file_pattern: str
    format: str
    options: dict[str, Any]
    raw_table: str
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    dbt_tag: str | None
    target_table: str | None
    target_window_column: str | None
    audit_tolerance_pct: float
    freshness_sla_seconds: int
    phases: tuple[str, ...]
    retries: int
    retry_delay_seconds: int

    @property
    def raw_columns(self) -> tuple[str, ...]:
        return (WINDOW_COLUMN, *(c.name for c in self.columns), *LINEAGE_COLUMNS)

    @property
    def raw_ddl(self) -> str:
        own = [f"    {c.name} {c.type}{'' if c.nullable else ' not null'}" for c in self.columns]
        lines = [
            f"    {WINDOW_COLUMN} timestamp not null",
            *own,
            "    source_file varchar(1000) not null",
            "    record_no integer not null",
            "    loaded_at timestamp not null",
        ]
        return f"create table if not exists {self.raw_table} (\n" + ",\n".join(lines) + "\n)"

    @property
    def layout(self) -> Layout:
        return Layout(self.columns, self.keys, dict(self.options))

    @property
    def source_format(self) -> Format:
        return FORMATS[self.format]


def config_path(name: str) -> Path:
    return pipelines_dir() / f"{name}.yml"


def pipeline_names() -> list[str]:
    """Every pipeline with a config file, by name."""
    directory = pipelines_dir()
    return sorted(p.stem for p in directory.glob("*.yml")) if directory.is_dir() else []


@cache
def _schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_schema())


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _SHOWN_VALUE_CHARS else text[: _SHOWN_VALUE_CHARS - 3] + "..."


def _field_path(parts: list) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def _expected(error: Any) -> str:
    """What the schema wanted where `error` failed, in words (the schema's `description` when it has one)."""
    kind, wanted, schema = error.validator, error.validator_value, error.schema
    described = schema.get("description") if isinstance(schema, dict) else None
    if kind == "enum":
        return "one of " + ", ".join(str(v) for v in wanted)
    if kind == "const":
        return _shown(wanted)
    if kind == "type":
        return described or f"a {wanted}"
    if kind in ("pattern", "minLength", "maxLength", "not", "contains", "maxProperties") and described:
        return described
    if kind == "pattern":
        return f"text matching {wanted}"
    if kind == "minimum":
        return described or f"a number >= {wanted}"
    if kind == "maximum":
        return described or f"a number <= {wanted}"
    if kind == "minItems":
        return f"a list of at least {wanted} item(s)"
    if kind == "uniqueItems":
        return "a list without repeated items"
    if kind == "minLength":
        return f"text of at least {wanted} character(s)"
    if kind == "maxLength":
        return f"text of at most {wanted} character(s)"
    return error.message


def _schema_errors(document: Any) -> list[tuple[str, str]]:
    """(field path, message) for every schema violation, sorted by path."""
    found = []
    for error in _validator().iter_errors(document):
        parts = list(error.absolute_path)
        if error.validator == "required":
            for missing in (p for p in error.validator_value if p not in error.instance):
                found.append((_field_path([*parts, missing]), "missing; expected a value (required)"))
            continue
        if error.validator == "additionalProperties":
            known = sorted(error.schema.get("properties", {}))
            for extra in (k for k in error.instance if k not in known):
                message = f"{_shown(extra)} is not a known field; expected one of {', '.join(known)}"
                found.append((_field_path([*parts, extra]), message))
            continue
        found.append((_field_path(parts), f"{_shown(error.instance)}; expected {_expected(error)}"))
    return sorted(set(found), key=lambda item: item[0])


def _semantic_errors(name: str, document: dict) -> list[tuple[str, str]]:
    """What the schema cannot say: names that must agree with each other and with the chosen format."""
    found = []

    def section(key: str) -> dict:
        value = document.get(key)
        return value if isinstance(value, dict) else {}

    raw, source = section("raw"), section("source")
    table = raw.get("table")
    if isinstance(table, str) and table != f"raw.{name}":
        found.append(("raw.table", f"{_shown(table)}; expected raw.{name} (the pipeline's name)"))
    columns = [c for c in raw.get("columns") or [] if isinstance(c, dict)]
    names = [c.get("name") for c in columns]
    for index, column_name in enumerate(names):
        if column_name in names[:index]:
            found.append(
                (f"raw.columns[{index}].name", f"{_shown(column_name)}; expected a name not used before")
            )
    for index, key in enumerate(raw.get("keys") or []):
        if isinstance(key, str) and key not in names:
            found.append(
                (
                    f"raw.keys[{index}]",
                    f"{_shown(key)}; expected one of the raw columns: {', '.join(map(str, names))}",
                )
            )
    for index, column in enumerate(columns):
        if column.get("time_format") and column.get("type") not in ("date", "timestamp"):
            found.append(
                (
                    f"raw.columns[{index}].time_format",
                    f"{_shown(column['time_format'])}; expected only on a date or timestamp column",
                )
            )
    chosen = FORMATS.get(source.get("format")) if isinstance(source.get("format"), str) else None
    if chosen is None:
        return found
    kind = source.get("kind")
    if kind in SOURCE_KINDS and kind not in chosen.kinds:
        found.append(
            ("source.kind", f"{_shown(kind)}; expected {' or '.join(chosen.kinds)} for format {chosen.name}")
        )
    if chosen.columns is not None and columns:
        given = [(c.get("name"), c.get("type"), bool(c.get("nullable", False))) for c in columns]
        fixed = [(c.name, c.type, c.nullable) for c in chosen.columns]
        if given != fixed:
            shown = ", ".join(f"{n} {t}{' nullable' if nl else ''}" for n, t, nl in fixed)
            found.append(("raw.columns", f"not the columns format {chosen.name} produces; expected {shown}"))
        for index, column in enumerate(columns):
            for extra in ("field", "time_format"):
                if extra in column:
                    found.append(
                        (
                            f"raw.columns[{index}].{extra}",
                            f"{_shown(column[extra])}; expected nothing: format {chosen.name} reads its own fields",
                        )
                    )
    if chosen.keys is not None and isinstance(raw.get("keys"), list) and tuple(raw["keys"]) != chosen.keys:
        found.append(
            (
                "raw.keys",
                f"{_shown(raw['keys'])}; expected {_shown(list(chosen.keys))} (format {chosen.name})",
            )
        )
    return found


def validation_errors(name: str, document: Any) -> list[str]:
    """Every problem of a parsed config document, one `path: bad value; expected ...` line each."""
    found = []
    if not NAME_PATTERN.match(name):
        found.append(
            (
                "(file name)",
                f"{_shown(name)}; expected a lowercase identifier (a-z, 0-9, _; starts with a letter)",
            )
        )
    found += _schema_errors(document)
    if isinstance(document, dict):
        found += _semantic_errors(name, document)
    return [f"{path}: {message}" for path, message in sorted(found, key=lambda item: item[0])]


def read_document(path: Path) -> Any:
    """The YAML of a config file; a syntax error is a PipelineConfigError naming the line."""
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the file"
        problem = getattr(error, "problem", None) or str(error)
        raise PipelineConfigError(path, [f"(YAML) {where}: {problem}; expected valid YAML"]) from None


def load_config(name_or_path: str | Path) -> PipelineConfig:
    """The config of a pipeline by name (in PIPELINES_DIR) or by file path; PipelineConfigError lists every
    problem it has."""
    path = (
        Path(name_or_path)
        if str(name_or_path).endswith((".yml", ".yaml"))
        else config_path(str(name_or_path))
    )
    if not path.is_file():
        known = ", ".join(pipeline_names()) or "none"
        raise PipelineConfigError(path, [f"(file) no pipeline config at {path}; expected one of: {known}"])
    document = read_document(path)
    errors = validation_errors(path.stem, document)
    if errors:
        raise PipelineConfigError(path, errors)
    return _build(path, document)


def _start_date(text: str, timezone: str) -> datetime:
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=ZoneInfo(timezone)) if timezone != "UTC" else moment.replace(tzinfo=UTC)


def _build(path: Path, document: dict) -> PipelineConfig:
    schedule, source, raw = document["schedule"], document["source"], document["raw"]
    timezone = schedule.get("timezone", "UTC")
    return PipelineConfig(
        name=path.stem,
        path=path,
        owner=document["owner"],
        description=document["description"],
        tags=tuple(document["tags"]),
        cron=schedule["cron"],
        timezone=timezone,
        start_date=_start_date(schedule["start_date"], timezone),
        catchup=bool(schedule.get("catchup", False)),
        source_kind=source["kind"],
        location=source["location"],
        location_setting=source.get("location_setting"),
        file_pattern=source["file_pattern"],
        format=source["format"],
        options=dict(source.get("options") or {}),
        raw_table=raw["table"],
        columns=tuple(
            Column(c["name"], c["type"], bool(c.get("nullable", False)), c.get("field"), c.get("time_format"))
            for c in raw["columns"]
        ),
        keys=tuple(raw["keys"]),
        dbt_tag=(document.get("dbt") or {}).get("tag"),
        target_table=(document.get("target") or {}).get("table"),
        target_window_column=(document.get("target") or {}).get("window_column"),
        audit_tolerance_pct=float(document["audit"]["tolerance_pct"]),
        freshness_sla_seconds=int(document["freshness"]["sla_seconds"]),
        phases=tuple(p for p in PHASES if p in document["phases"]),
        retries=int(document["retries"]["count"]),
        retry_delay_seconds=int(document["retries"].get("delay_seconds", 60)),
    )
