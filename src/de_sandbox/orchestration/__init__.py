"""What DAG files import: Cosmos configuration, the ingestion task chain and the GX validation task."""
