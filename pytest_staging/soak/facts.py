"""The few numbers of a run the soak judges, taken from its record and its JSON gate report.

Plain data, so the decision is tested by building these directly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from pytest_staging.soak.records import RunRecord, Status


@dataclass(frozen=True)
class Latency:
    count: int
    errors: int
    p95_ms: float


@dataclass(frozen=True)
class RunFacts:
    run: int
    status: Status
    at: datetime | None
    """When the run started (None for a missed run)."""
    verdict: str | None = None
    """`GO` / `NO-GO` from the run's report; None when it left no valid report."""
    problem: str | None = None
    reasons: tuple[str, ...] = ()
    passed: int = 0
    failed: int = 0
    errors: int = 0
    pass_rates: Mapping[str, float] = field(default_factory=dict)
    """Gated categories that ran a test: their pass rate in percent."""
    latency: Mapping[str, Latency] = field(default_factory=dict)
    target_url: str | None = None
    exit_code: int | None = None
    took_s: float | None = None

    @property
    def failed_run(self) -> bool:
        """A finished run that was not a GO: a NO-GO, or no valid report (killed, timed out)."""
        return self.status == "finished" and self.verdict != "GO"

    @property
    def label(self) -> str:
        if self.status == "missed":
            return "missed"
        return self.verdict or "FAILED"

    @property
    def why(self) -> str:
        """What went wrong with the run, in one line: the soak's problem with it (a time
        limit, no report) and the first reason of its report."""
        parts = [self.problem, self.reasons[0] if self.reasons else None]
        return "; ".join(part for part in parts if part) or self.verdict or "no valid report"


def from_run(record: RunRecord, report: Mapping[str, Any] | None) -> RunFacts:
    """The facts of a run; `report` is its validated JSON report, or None."""
    base = RunFacts(
        run=record.run,
        status=record.status,
        at=record.started_at,
        problem=record.problem,
        exit_code=record.exit_code,
        took_s=record.took_s,
    )
    if report is None:
        return base
    totals = report["totals"]
    return dataclasses.replace(
        base,
        verdict=report["verdict"],
        reasons=tuple(report["reasons"]),
        passed=totals["passed"],
        failed=totals["failed"],
        errors=totals["errors"],
        pass_rates={
            name: float(category["pass_rate"])
            for name, category in report["categories"].items()
            if category["pass_rate"] is not None and category["threshold"] is not None
        },
        latency={
            name: Latency(int(stats["count"]), int(stats["errors"]), float(stats["p95_ms"]))
            for name, stats in report["latency"].items()
        },
        target_url=report["target"]["url"],
    )
