"""The __name__ pipeline's Airflow DAG, built from pipelines/__name__.yml by the DAG factory (doc_md comes from
the config's description)."""

from de_sandbox.orchestration.pipelines import pipeline_dag

dag = pipeline_dag(__file__)
