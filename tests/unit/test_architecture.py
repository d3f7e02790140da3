"""The package's shape is a design rule, checked here: layers, no import cycles, thin DAG files, and every dotted
path written as a string (Makefile, compose, Dockerfile, console scripts, Cosmos callbacks) resolves."""

from __future__ import annotations

import ast
import importlib
import re
import tomllib
from pathlib import Path

import pytest

from de_sandbox.settings import REPO_ROOT

PACKAGE_DIR = REPO_ROOT / "src" / "de_sandbox"

# Lower numbers are lower layers; a module imports only its own package or strictly lower layers.
LAYERS = {
    "settings": 0,
    "envfile": 1,
    "warehouse": 1,
    "airflow_env": 1,
    "airflow_api": 1,
    "airflow_db": 1,
    "dbt": 2,
    "metrics": 2,
    "lineage": 2,
    "quality": 3,
    "ingestion": 4,
    "orchestration": 5,
    "native": 6,
    "compose": 6,
    "embedded": 7,
    # make pipeline-new/check/remove: reads every layer below to scaffold, check and remove a pipeline.
    "lifecycle": 7,
    # The portal reads native service state (pid files); nothing below imports it.
    "portal": 7,
    "cli": 8,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE_DIR.rglob("*.py")}


def imported_modules(path: Path) -> set[str]:
    """Every de_sandbox module `path` imports, at any depth: top level, in functions, under TYPE_CHECKING."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name.startswith("de_sandbox"):
                found.add(name)
    return found


GRAPH = {name: imported_modules(path) - {name} for name, path in MODULES.items()}


def layer(module: str) -> tuple[str, int] | None:
    parts = module.split(".")
    if len(parts) < 2:
        return None
    return parts[1], LAYERS[parts[1]]


def test_every_module_has_a_layer():
    unknown = {m.split(".")[1] for m in MODULES if m.count(".") and m.split(".")[1] not in LAYERS}
    assert not unknown, f"modules outside the layer map: {unknown}; add them to LAYERS"


def test_lower_layers_never_import_higher_ones():
    wrong = []
    for module, imports in GRAPH.items():
        own = layer(module)
        for target in imports:
            other = layer(target)
            if own and other and own[0] != other[0] and other[1] >= own[1]:
                wrong.append(f"{module} ({own[0]}, layer {own[1]}) imports {target} (layer {other[1]})")
    assert not wrong, "\n".join(sorted(wrong))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles_counting_imports_at_any_depth():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


DAG_FILES = sorted([*(REPO_ROOT / "dags").glob("*.py"), *(REPO_ROOT / "bench" / "dags").glob("*.py")])


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_import_only_orchestration_and_settings(dag_file: Path):
    allowed = ("de_sandbox.orchestration", "de_sandbox.settings")
    imports = imported_modules(dag_file)
    wrong = sorted(m for m in imports if not m.startswith(allowed))
    assert not wrong, f"{dag_file.name} imports {wrong}: DAG files import only {allowed}"


DOTTED = re.compile(r"\bde_sandbox(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def dotted_paths() -> list[tuple[str, str]]:
    """(where, dotted path) for every de_sandbox path written as a string outside import statements."""
    found = []
    texts = {
        "Makefile": (REPO_ROOT / "Makefile").read_text(),
        "docker-compose.yml": (REPO_ROOT / "docker-compose.yml").read_text(),
    }
    for dockerfile in (REPO_ROOT / "docker").rglob("Dockerfile"):
        texts[str(dockerfile.relative_to(REPO_ROOT))] = dockerfile.read_text()
    for script in (REPO_ROOT / "docker").rglob("*.sh"):
        texts[str(script.relative_to(REPO_ROOT))] = script.read_text()
    for where, text in texts.items():
        found += [(where, m) for m in DOTTED.findall(text)]
    scripts = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    found += [("pyproject.toml [project.scripts]", target.replace(":", ".")) for target in scripts.values()]
    for path in [*PACKAGE_DIR.rglob("*.py"), *DAG_FILES]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found += [(str(path.relative_to(REPO_ROOT)), m) for m in DOTTED.findall(node.value)]
    return sorted(set(found))


def resolves(dotted: str) -> bool:
    module, attrs = dotted, []
    while module:
        try:
            obj = importlib.import_module(module)
        except ModuleNotFoundError:
            module, _, attr = module.rpartition(".")
            attrs.insert(0, attr)
            continue
        for attr in attrs:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_dotted_paths_written_as_strings_resolve():
    paths = dotted_paths()
    # The scan itself must see the strings it exists for.
    assert any("cosmos" not in p and "preload" in p for _, p in paths)
    assert any(p.endswith("release_dbt_duckdb") for _, p in paths)
    broken = [f"{where}: {path}" for where, path in paths if not resolves(path)]
    assert not broken, "dotted paths that do not import:\n" + "\n".join(broken)


def test_resolver_rejects_a_missing_path():
    assert resolves("de_sandbox.warehouse.release_dbt_duckdb")
    assert not resolves("de_sandbox.warehouse.no_such_function")
    assert not resolves("de_sandbox.no_such_module")
