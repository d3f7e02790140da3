"""Ingestion through object storage: sources, S3 client and stand-in, parsing with quarantine, loading."""
