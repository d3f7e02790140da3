"""The sandbox portal inside the Airflow UI: an Airflow plugin serving overview, health, pipelines, data, quality
and docs pages (and a JSON API) at /sandbox on the api-server, behind Airflow's own login."""
