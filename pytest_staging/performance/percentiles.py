"""Exact latency percentiles per request name, from every request the run made.

Exact means computed from all samples (linear interpolation between the two
nearest ranks, as `statistics.quantiles(method="inclusive")` does), not from
buckets.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from pytest_staging.phase_log import failed

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99/max of `samples` in the samples' unit; needs at least one sample."""
    if len(samples) == 1:
        only = samples[0]
        return {"p50": only, "p95": only, "p99": only, "max": only}
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": max(samples)}


def summarize(
    requests: Iterable[Mapping[str, Any]], budgets: Mapping[str, float] | None = None
) -> dict[str, dict[str, Any]]:
    """Per "METHOD /path": count, errors (`phase_log.failed`), percentiles in ms, and the
    manifest's `budget_ms` for that request when it declares one (the reports chart it)."""
    by_name: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for request in requests:
        by_name[f"{request['method']} {request['path']}"].append(request)
    summary = {}
    for name, group in sorted(by_name.items()):
        spread = percentiles([float(r["duration_ms"]) for r in group])
        summary[name] = {
            "count": len(group),
            "errors": sum(1 for r in group if failed(r["status"])),
            **{f"{key}_ms": round(value, 3) for key, value in spread.items()},
        }
        if budgets and name in budgets:
            summary[name]["budget_ms"] = budgets[name]
    return summary
