"""Ingestion through object storage: one module per source, the phases of a window, the run ledger."""
