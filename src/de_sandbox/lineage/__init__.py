"""Lineage of the sandbox's data: one naming of datasets for Airflow assets and OpenLineage, and the table-level
edges read back from the OpenLineage event files."""
