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
    from de_sandbox.dbt_cosmos import DUCKDB_POOL

    dag = dag_bags[dag_file.stem].dags[dag_file.stem]
    dbt_tasks = [t for t in dag.tasks if t.task_type.startswith("Dbt")]
    assert all(t.pool == DUCKDB_POOL for t in dbt_tasks), (
        "dbt tasks on DuckDB must queue on the one-slot pool"
    )
