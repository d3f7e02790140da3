"""Data quality with Great Expectations 1.x: suite factories, file context, validation, Airflow task."""
