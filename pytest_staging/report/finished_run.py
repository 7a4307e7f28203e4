"""The finished run as the reports see it: the verdict plus its context.

The controller builds one when the gate decides (`FinishedRun`), or earlier when there is no
verdict to give (`finished_early`): bad input at start, a run not finished yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_staging import gate, timing
from pytest_staging.gate import BUILTIN_CATEGORIES, DEFAULT_THRESHOLDS, RunSnapshot, Verdict
from pytest_staging.report.renderable import RequestTotals

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from pytest_staging.http.readiness import Readiness


@dataclass(frozen=True)
class FinishedRun:
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
    load: tuple[Mapping[str, Any], ...] = ()
    requests_by_test: Mapping[str, int] = field(default_factory=dict)
    insecure: bool = False
    tls_expiry: datetime | None = None
    """When the HTTPS target's certificate expires, if it verified."""
    withheld: tuple[tuple[str, str], ...] = ()
    """(node id, why) of each destructive test the guard withheld."""
    service: str = ""
    """The manifest's service name ("" without one): `compare` refuses two services."""

    @property
    def requests(self) -> RequestTotals:
        """The run's requests against `max_error_rate`, as the reports show them."""
        snapshot = self.snapshot
        return RequestTotals(
            total=snapshot.requests,
            failed=snapshot.failed_requests,
            error_rate=self.verdict.error_rate,
            max_error_rate=snapshot.max_error_rate,
        )


def finished_early(
    reason: str,
    *,
    exit_code: int,
    target_url: str | None = None,
    environment: str = "unknown",
    interrupted: bool = False,
) -> FinishedRun:
    """A NO-GO written before any verdict: bad input at start, or a run not finished yet."""
    snapshot = RunSnapshot(
        tests=(),
        thresholds=DEFAULT_THRESHOLDS,
        categories=BUILTIN_CATEGORIES,
        interrupted=interrupted,
    )
    verdict = Verdict(
        go=False,
        reasons=(reason,),
        categories=gate.category_results(snapshot),
        totals=gate.count("total", ()),
    )
    return FinishedRun(
        verdict=verdict,
        snapshot=snapshot,
        exit_code=exit_code,
        target_url=target_url,
        environment=environment,
        started_at=timing.utc_now(),
        duration_s=0.0,
    )
