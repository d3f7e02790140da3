"""Pipeline metrics: the durable facts store, the Prometheus exporter and its native launch specs."""
