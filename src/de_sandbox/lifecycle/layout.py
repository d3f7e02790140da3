"""Where a pipeline's pieces live in the repository, by the naming convention `make pipeline-new` writes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LAYERS = ("staging", "intermediate", "marts")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
# Schemas every pipeline shares: a pipeline named like one would read as a layer, not a source.
RESERVED_NAMES = frozenset(
    {
        *LAYERS,
        "raw",
        "ops",
        "main",
        "public",
        "information_schema",
        "pg_catalog",
        "de_sandbox",
        "dbt",
        "airflow",
    }
)
GX_PROJECT = "de_sandbox"


class PipelineError(Exception):
    """A lifecycle command cannot go on; the message is the one line the user sees, saying what to do."""


@dataclass(frozen=True)
class PipelineLayout:
    """The repository paths of pipeline `name` (they need not exist)."""

    root: Path
    name: str

    @property
    def config(self) -> Path:
        return self.root / "pipelines" / f"{self.name}.yml"

    @property
    def dag(self) -> Path:
        return self.root / "dags" / f"{self.name}.py"

    @property
    def model_dirs(self) -> list[Path]:
        return [self.root / "dbt" / "models" / layer / self.name for layer in LAYERS]

    @property
    def sample_dir(self) -> Path:
        return self.root / "seeds" / self.name

    def gx_files(self, schema: str, table: str) -> list[Path]:
        """The GX suite of the pipeline's target and the checkpoint/validation files runs write beside it."""
        gx = self.root / "great_expectations"
        name = f"{GX_PROJECT}.{schema}.{table}"
        return [
            gx / "expectations" / GX_PROJECT / schema / f"{table}.json",
            *sorted((gx / "checkpoints").glob(f"{name}.*.json")),
            *sorted((gx / "validation_definitions").glob(f"{name}.*.json")),
        ]

    def relative(self, path: Path) -> str:
        return str(path.relative_to(self.root))
