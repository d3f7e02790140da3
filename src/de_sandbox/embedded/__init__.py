"""The embedded runtime: one DAG run with `dag.test()` on SQLite + DuckDB, its summary, and the benchmark."""
