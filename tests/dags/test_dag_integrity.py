"""Every DAG in dags/ imports cleanly and documents itself: tags, owner, retries, dag_id equal to its file stem."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dag_bags(embedded_airflow):
    from airflow.dag_processing.dagbag import DagBag

    return {path.stem: DagBag(dag_folder=str(path)) for path in DAG_FILES}


def test_there_are_dags_to_check():
    assert any(p.stem == "example_pipeline" for p in DAG_FILES)


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_dag_file_imports_without_errors(dag_bags, dag_file):
    bag = dag_bags[dag_file.stem]
    assert not bag.import_errors, f"import errors: {bag.import_errors}"
    assert dag_file.read_text().lower().count("airflow") > 0, "safe mode skips files without the word airflow"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_dag_id_is_file_stem_and_documented(dag_bags, dag_file):
    bag = dag_bags[dag_file.stem]
    assert list(bag.dags) == [dag_file.stem], "one DAG per file, dag_id == file stem"
    dag = bag.dags[dag_file.stem]
    assert dag.tags, "DAG has no tags"
    assert dag.doc_md and len(dag.doc_md.strip()) > 40, "DAG needs doc_md (doc_md=__doc__)"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_every_task_has_an_owner_and_retries(dag_bags, dag_file):
    dag = dag_bags[dag_file.stem].dags[dag_file.stem]
    for task in dag.tasks:
        assert task.owner and task.owner != "airflow", f"{task.task_id} has no owner"
        assert task.retries >= 1 or task.task_id.startswith("validate"), f"{task.task_id} has no retries"


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.stem)
def test_duckdb_tasks_share_the_one_writer_pool(dag_bags, dag_file):
    from de_sandbox.airflow_db import DUCKDB_POOL

    dag = dag_bags[dag_file.stem].dags[dag_file.stem]
    dbt_tasks = [t for t in dag.tasks if t.task_type.startswith("Dbt")]
    assert all(t.pool == DUCKDB_POOL for t in dbt_tasks), (
        "dbt tasks on DuckDB must queue on the one-slot pool"
    )


# Task-time libraries: DAG parsing (dag-processor, and every task's own start) must not pay for them.
HEAVY_AT_PARSE = ("pandas", "great_expectations", "moto")
_PARSE_PROBE = """
import sys, importlib.util
import airflow  # noqa: F401
for path in sys.argv[1:]:
    spec = importlib.util.spec_from_file_location("probe_" + str(abs(hash(path))), path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    print(path, *[name for name in {heavy!r} if name in sys.modules])
"""


def test_dag_files_parse_without_task_time_libraries(embedded_airflow):
    import subprocess
    import sys

    probe = _PARSE_PROBE.format(heavy=HEAVY_AT_PARSE)
    result = subprocess.run(
        [sys.executable, "-c", probe, *map(str, DAG_FILES)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith(str(DAGS_DIR))]
    assert len(lines) == len(DAG_FILES), result.stdout
    assert {Path(line[0]).name: line[1:] for line in lines} == {p.name: [] for p in DAG_FILES}


@pytest.mark.parametrize("dag_id", ["wikipedia_pageviews", "stavanger_parking"])
def test_concurrent_runs_of_a_pipeline_never_run_one_dbt_task_twice_at_once(dag_bags, dag_id):
    """A backfill runs 4 windows side by side; two first builds of one incremental model race creating it."""
    dag = dag_bags[dag_id].dags[dag_id]
    dbt_tasks = [t for t in dag.tasks if t.task_type.startswith("Dbt")]
    assert dbt_tasks and all(t.max_active_tis_per_dag == 1 for t in dbt_tasks), [
        (t.task_id, t.max_active_tis_per_dag) for t in dbt_tasks
    ]
