"""The outcome of one load run, read from the file locust's side wrote (locust's own numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pytest_staging.load_plan import Check, LoadPlan, LoadThresholds

_NUMBERS = ("requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms", "max_ms")


@dataclass(frozen=True)
class LoadResult:
    """Totals over the whole run; `endpoints` per request name, `history` once a second."""

    name: str
    users: int
    spawn_rate: float
    duration_s: float
    processes: int | None
    workers: int | None
    elapsed_s: float
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    endpoints: tuple[Mapping[str, Any], ...] = ()
    history: tuple[Mapping[str, Any], ...] = ()

    @property
    def failure_rate(self) -> float:
        """Percent of requests that failed; 0 when none were made."""
        return 100.0 * self.failures / self.requests if self.requests else 0.0

    @classmethod
    def from_document(cls, plan: LoadPlan, document: Mapping[str, Any]) -> LoadResult:
        """Build from the reporter's result file (see locust_side/reporter.py)."""
        numbers = {key: document[key] for key in _NUMBERS}
        return cls(
            name=plan.name,
            users=plan.users,
            spawn_rate=plan.rate,
            duration_s=plan.duration_s,
            processes=plan.processes,
            workers=plan.expect_workers,
            elapsed_s=float(document["elapsed_s"]),
            requests=int(numbers.pop("requests")),
            failures=int(numbers.pop("failures")),
            **{key: float(value or 0) for key, value in numbers.items()},
            endpoints=tuple(document.get("endpoints", ())),
            history=tuple(document.get("history", ())),
        )

    def describe(self) -> str:
        return (
            f"{self.requests} requests in {self.elapsed_s:.1f}s, {self.rps:.1f} req/s, "
            f"{self.failure_rate:.2f}% failed, p50 {self.p50_ms:g} ms, p95 {self.p95_ms:g} ms, "
            f"p99 {self.p99_ms:g} ms"
        )

    def to_dict(self, thresholds: LoadThresholds, checks: list[Check]) -> dict[str, Any]:
        """The `load` entry of the JSON report."""
        return {
            "name": self.name,
            "users": self.users,
            "spawn_rate": self.spawn_rate,
            "duration_s": self.duration_s,
            "processes": self.processes,
            "workers": self.workers,
            "elapsed_s": self.elapsed_s,
            "requests": self.requests,
            "failures": self.failures,
            "failure_rate": round(self.failure_rate, 4),
            "rps": round(self.rps, 3),
            "percentiles": {
                "p50_ms": self.p50_ms,
                "p95_ms": self.p95_ms,
                "p99_ms": self.p99_ms,
                "max_ms": round(self.max_ms, 3),
            },
            "endpoints": [dict(entry) for entry in self.endpoints],
            "history": [dict(point) for point in self.history],
            "thresholds": thresholds.to_dict(),
            "checks": [check.to_dict() for check in checks],
            "ok": all(check.ok for check in checks),
        }
