"""Declared runtime dependencies match what the package and the DAGs import: nothing unused, nothing missing."""

from __future__ import annotations

import ast
import re
import sys
import tomllib

from de_sandbox.settings import REPO_ROOT

# Import name -> distribution, where they differ beyond `_` vs `-`.
DISTRIBUTION_OF = {
    "airflow": "apache-airflow",
    "cosmos": "astronomer-cosmos",
    "dbt": "dbt-core",
    "dotenv": "python-dotenv",
    "openlineage": "openlineage-python",
    "psycopg2": "psycopg2-binary",
    "yaml": "pyyaml",
}
# Declared and used, but never by an import statement of ours.
USED_WITHOUT_IMPORT = {
    "statsd": "Airflow's StatsD client, loaded by Airflow when metrics are on",
    "moto": "the S3 stand-in, started as `python -m moto.server`",
    "dbt-duckdb": "loaded by dbt from the profile's adapter type",
    "dbt-postgres": "loaded by dbt from the profile's adapter type",
    "apache-airflow-providers-openlineage": "Airflow's OpenLineage listener, loaded by Airflow as a provider",
}


def declared() -> set[str]:
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {re.split(r"[\[<>=!~;\s]", dep, maxsplit=1)[0].lower() for dep in deps}


def imported_top_level() -> dict[str, str]:
    """Third-party top-level import -> a file importing it, over the package and the DAG files."""
    found = {}
    files = [*(REPO_ROOT / "src").rglob("*.py"), *(REPO_ROOT / "dags").glob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "de_sandbox":
                    found.setdefault(top, str(path.relative_to(REPO_ROOT)))
    return found


def distribution(module: str) -> str:
    return DISTRIBUTION_OF.get(module, module.replace("_", "-")).lower()


def test_everything_imported_is_declared_for_run_time():
    missing = {m: where for m, where in imported_top_level().items() if distribution(m) not in declared()}
    assert not missing, f"imported but not a runtime dependency in pyproject.toml: {missing}"


def test_everything_declared_is_used():
    used = {distribution(m) for m in imported_top_level()} | set(USED_WITHOUT_IMPORT)
    unused = declared() - used
    assert not unused, f"declared in pyproject.toml but imported nowhere: {sorted(unused)}"
