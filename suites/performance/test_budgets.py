"""Performance: every endpoint with `budget_ms` keeps its p95 within the budget.

Each is sampled `[performance] samples` times (default 20) with bounded
concurrency; p95 is exact over those samples and client-observed (send to
body read). A broken budget is a gate reason of its own.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from pytest_staging.manifest import Endpoint
from pytest_staging.performance.budgets import StagingLatency


def test_endpoint_p95_within_its_budget(
    client_for: Callable[[bool], httpx.Client],
    budgeted_endpoint: Endpoint,
    staging_latency: StagingLatency,
) -> None:
    endpoint = budgeted_endpoint
    result = staging_latency.sample(
        endpoint.path,
        endpoint.method,
        client=client_for(endpoint.auth),
        ok_statuses=endpoint.statuses,
        json=endpoint.json,
        headers=dict(endpoint.headers),
    )
    staging_latency.assert_within(result, p95_ms=endpoint.budget_ms, error_rate=0)
