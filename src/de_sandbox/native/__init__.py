"""The native platform: PostgreSQL, Airflow, the S3 stand-in and Prometheus as supervised local processes."""
