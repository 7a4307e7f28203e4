"""The finished run as the reports see it: the verdict plus its context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_staging import gate, timing
from pytest_staging.gate import RunSnapshot, Verdict
from pytest_staging.settings import BUILTIN_CATEGORIES, DEFAULT_THRESHOLDS

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from pytest_staging.readiness import Readiness


@dataclass(frozen=True)
class GateOutcome:
    """Everything a report shows: the verdict, the numbers and where they came from."""

    verdict: Verdict
    snapshot: RunSnapshot
    exit_code: int
    target_url: str | None
    environment: str
    started_at: datetime
    duration_s: float
    readiness: Readiness | None = None
    latency: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    requests_by_test: Mapping[str, int] = field(default_factory=dict)
    insecure: bool = False


def usage_error_outcome(message: str) -> GateOutcome:
    """A NO-GO for a run stopped by bad input before any test: the report still says why."""
    snapshot = RunSnapshot(tests=(), thresholds=DEFAULT_THRESHOLDS, categories=BUILTIN_CATEGORIES)
    verdict = Verdict(
        go=False,
        reasons=(f"usage error: {message}",),
        categories=gate.category_results(snapshot),
        totals=gate.count("total", ()),
    )
    return GateOutcome(
        verdict=verdict,
        snapshot=snapshot,
        exit_code=4,
        target_url=None,
        environment="unknown",
        started_at=timing.utc_now(),
        duration_s=0.0,
    )
