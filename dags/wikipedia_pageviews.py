"""Airflow DAG of the wikipedia_pageviews ingestion pipeline, built from pipelines/wikipedia_pageviews.yml
(schedule, owner, retries, phases; its doc is the config's description)."""

from de_sandbox.orchestration.pipelines import pipeline_dag

dag = pipeline_dag(__file__)
