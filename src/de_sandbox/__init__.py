"""DE Sandbox shared code: settings, dbt/Cosmos config, GX factories, ingestion, metrics, CLI."""
