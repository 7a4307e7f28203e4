"""Latency measured and held to limits: the objects behind `staging_latency` and `staging_load`.

Each module has one job; data flows down the list:

- `sampling`: one request sent N times with bounded concurrency after a warm-up, each
  timed as the client saw it, kept as a `LatencySample` that names its broken limits;
- `percentiles`: exact p50/p95/p99/max of a sample, and per request name of every
  request the run made (the reports' table);
- `budgets`: `StagingLatency` and `StagingLoad`, which sample or run a load (through
  `load/`), record it for the reports and fail the test, and the gate, on a broken limit.

Importing this package imports nothing: each module is imported where it is used.
"""
