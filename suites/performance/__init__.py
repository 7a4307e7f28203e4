"""Performance: latency budgets sampled per endpoint, and the manifest's load run."""
