"""`make pipeline-remove` finds a pipeline's models by its config's dbt tag, not only in `<layer>/<name>/` folders
(as the bundled pipelines keep theirs), and refuses while another pipeline's model uses one of them."""

from __future__ import annotations

import shutil

import pytest

pytestmark = pytest.mark.integration

NAME = "rm_tagged"
MART = f"fct_{NAME}__hourly"


def _ok(result, what: str) -> str:
    assert result.returncode == 0, f"{what} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def test_models_outside_the_pipeline_folder_are_removed_by_tag(clone):
    import duckdb

    before = clone.git_status()
    _ok(clone.make("pipeline-new", f"NAME={NAME}"), "pipeline-new")
    models = clone.root / "dbt" / "models" / "marts"
    # The mart and its YAML (which tags it) live in a folder not named after the pipeline.
    shutil.move(models / NAME, models / "hourly_rollups")
    other = models / "rm_other" / "fct_rm_other.sql"
    other.parent.mkdir()
    other.write_text(f"select * from {{{{ ref('{MART}') }}}}\n")
    warehouse = clone.root / "data" / "warehouse.duckdb"
    warehouse.parent.mkdir(exist_ok=True)
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema if not exists marts")
        connection.execute(f"create table marts.{MART} as select 1 as hour")

    out = _ok(clone.make("pipeline-remove", f"NAME={NAME}"), "pipeline-remove (dry run)")
    assert f"file     dbt/models/marts/hourly_rollups/{MART}.sql" in out, out
    assert f"file     dbt/models/marts/hourly_rollups/_marts_{NAME}__models.yml" in out, out
    assert f"table    marts.{MART} (1 rows)" in out, out
    assert f"model fct_rm_other use(s) the models of {NAME}" in out, out

    refused = clone.make("pipeline-remove", f"NAME={NAME}", "CONFIRM=1")
    assert refused.returncode != 0, refused.stdout + refused.stderr
    # One line of ours; make adds its `*** Error 2` line after it.
    assert [line for line in refused.stderr.splitlines() if not line.startswith("make: ***")] == [
        f"[de-sandbox] model fct_rm_other use(s) the models of {NAME}: remove or change them first, "
        f"then remove {NAME} again"
    ]
    assert (models / "hourly_rollups" / f"{MART}.sql").exists(), "a refused removal changes nothing"

    shutil.rmtree(other.parent)
    _ok(clone.make("pipeline-remove", f"NAME={NAME}", "CONFIRM=1"), "pipeline-remove CONFIRM=1")
    assert clone.git_status() == before
    assert not (models / "hourly_rollups").exists()
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute(
            "select count(*) from information_schema.tables where table_name like ?", (f"%{NAME}%",)
        ).fetchone() == (0,)
