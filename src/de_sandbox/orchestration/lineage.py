"""What each ingestion phase reads and writes, declared once: Airflow sees assets (inlets/outlets, an asset event
per successful run), Airflow's OpenLineage provider gets the same datasets as the task's inputs and outputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import Asset, BaseOperator

from de_sandbox.ingestion.spec import PipelineSpec
from de_sandbox.lineage.datasets import Dataset, object_prefix, source_location, warehouse_table
from de_sandbox.settings import IngestionSettings, Settings


@dataclass(frozen=True)
class PipelineDatasets:
    """The datasets of one pipeline, in the order its data flows through them."""

    source: Dataset
    landing: Dataset
    raw_table: Dataset
    archive: Dataset


def pipeline_datasets(
    spec: PipelineSpec, settings: Settings, ingestion: IngestionSettings
) -> PipelineDatasets:
    # Every object key of a pipeline starts with its name (year=/month=/day=/hour= below it).
    return PipelineDatasets(
        source=source_location(spec.source_location(ingestion)),
        landing=object_prefix(ingestion.bucket_raw, spec.name),
        raw_table=warehouse_table(settings, spec.raw_table),
        archive=object_prefix(ingestion.bucket_archive, spec.name),
    )


def asset(dataset: Dataset) -> Asset:
    """The Airflow asset of a dataset; its name is its URI, as for the assets Cosmos emits per dbt model."""
    return Asset(dataset.uri)


class DeclaredLineage:
    """What a task reads and writes, answered to OpenLineage on start, completion and failure alike."""

    def __init__(self, reads: Sequence[Dataset], writes: Sequence[Dataset]) -> None:
        self.reads = tuple(reads)
        self.writes = tuple(writes)

    def __call__(self, task_instance: Any = None):
        from airflow.providers.openlineage.extractors import OperatorLineage
        from openlineage.client.event_v2 import InputDataset, OutputDataset

        return OperatorLineage(
            inputs=[InputDataset(namespace=d.namespace, name=d.name) for d in self.reads],
            outputs=[OutputDataset(namespace=d.namespace, name=d.name) for d in self.writes],
        )


def declare_lineage(task: BaseOperator, reads: Sequence[Dataset], writes: Sequence[Dataset]) -> None:
    """Make an existing task (e.g. one a library built) emit an asset event per written dataset when it succeeds,
    and report `reads`/`writes` to OpenLineage instead of what its class would compute."""
    task.outlets = [asset(d) for d in writes]
    lineage = DeclaredLineage(reads, writes)
    task.get_openlineage_facets_on_start = lineage
    task.get_openlineage_facets_on_complete = lineage
    task.get_openlineage_facets_on_failure = lineage


class LineagePythonOperator(PythonOperator):
    """A PythonOperator that declares the datasets it reads and writes, for Airflow and for OpenLineage."""

    def __init__(
        self, *, reads: Sequence[Dataset] = (), writes: Sequence[Dataset] = (), **kwargs: Any
    ) -> None:
        super().__init__(inlets=[asset(d) for d in reads], **kwargs)
        declare_lineage(self, reads, writes)
