"""Pipeline metrics: the durable facts store and the Prometheus exporter that serves it."""
