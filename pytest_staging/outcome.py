"""The finished run as the reports see it: the verdict plus its context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from pytest_staging.gate import RunSnapshot, Verdict
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
