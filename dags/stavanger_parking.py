"""Airflow DAG of the stavanger_parking ingestion pipeline, built from pipelines/stavanger_parking.yml
(schedule, owner, retries, phases; its doc is the config's description)."""

from de_sandbox.orchestration.pipelines import pipeline_dag

dag = pipeline_dag(__file__)
