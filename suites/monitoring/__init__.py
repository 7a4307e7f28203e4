"""Monitoring: the service can be watched (Prometheus metrics) and its cache is warm."""
