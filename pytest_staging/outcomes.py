"""From pytest's per-phase test reports to one final `TestRecord` per test.

Our per-test data (categories, critical, the requests made) rides on each
`TestReport` as one versioned attribute, so the same code serves runs with
and without xdist: xdist ships the report's attributes to the controller.

Wire format, version 2 (every key optional except `v`): `categories` and
`critical` on the setup report; `requests`, `breaches`, `load`, `retries` (the
retries that rescued a request, see `retrying.rescued`: they make a passing
test flaky) and `answer` on the phase that made them. Keys were only ever
added, so `v` stays 2: a reader ignores keys it does not know. A test's cause
(why it failed or skipped) is read from the report's own `longrepr`, which
xdist ships anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_staging.gate import OTHER, Outcome, TestRecord
from pytest_staging.markers import CRITICAL
from pytest_staging.recording import failed
from pytest_staging.redaction import response_excerpt, shown

if TYPE_CHECKING:
    import httpx
    import pytest

    from pytest_staging.recording import RequestRecord

REPORT_ATTRIBUTE = "pytest_staging"
WIRE_VERSION = 2
ANSWER_EXCERPT_CHARS = 2000
CAUSE_CHARS = 200
"""A test's one-line cause (the gate's reasons, the reports) is cut here."""


def categories_of(item: pytest.Item, categories: tuple[str, ...]) -> tuple[str, ...]:
    """The known `categories` an item is marked with, in their order; `other` without one."""
    names = {mark.name for mark in item.iter_markers()}
    return tuple(name for name in categories if name in names) or (OTHER,)


def report_data(
    item: pytest.Item,
    when: str,
    categories: tuple[str, ...],
    *,
    requests: list[RequestRecord],
    breaches: list[str],
    loads: list[dict[str, Any]],
    answer: dict[str, Any] | None = None,
    retries: int = 0,
) -> dict[str, Any] | None:
    """The plain, serialisable data one test phase carries to the controller, or None.

    pytest keeps every report until the session ends, so each carries the least it
    can: the categories on the setup report, the evidence on the phase that made it.
    """
    data: dict[str, Any] = {}
    if when == "setup":
        data["categories"] = categories_of(item, categories)
        data["critical"] = item.get_closest_marker(CRITICAL) is not None
    if requests:
        data["requests"] = [record.to_dict() for record in requests]
    if breaches:
        data["breaches"] = breaches
    if loads:
        data["load"] = loads
    if retries:
        data["retries"] = retries
    if answer is not None:
        data["answer"] = answer
    if not data:
        return None
    data["v"] = WIRE_VERSION
    return data


def last_answer(response: httpx.Response) -> dict[str, Any]:
    """What the target last answered a failed test: request, status and a redacted, cut body."""
    request = response.request
    return {
        "request": f"{request.method} {request.url.path}",
        "status": response.status_code,
        "body": response_excerpt(response, ANSWER_EXCERPT_CHARS),
    }


@dataclass(slots=True)
class _Progress:
    categories: tuple[str, ...] = (OTHER,)
    critical: bool = False
    outcome: Outcome | None = None
    duration_s: float = 0.0
    reran: bool = False
    crashed: bool = False
    requests: tuple[dict[str, Any], ...] = ()
    breaches: tuple[str, ...] = ()
    loads: tuple[dict[str, Any], ...] = ()
    retries: int = 0
    cause: str | None = None

    def absorb(self, data: dict[str, Any]) -> None:
        """One phase's data: categories from setup, evidence from whichever phase has it."""
        if "categories" in data:
            self.categories = tuple(data["categories"])
            self.critical = bool(data["critical"])
        self.retries += int(data.get("retries", 0))
        self.requests += tuple(data.get("requests", ()))
        self.breaches += tuple(data.get("breaches", ()))
        self.loads += tuple(data.get("load", ()))

    def record(self, nodeid: str) -> TestRecord:
        outcome = self.outcome or "error"
        return TestRecord(
            nodeid=nodeid,
            outcome=outcome,
            categories=self.categories,
            critical=self.critical,
            duration_s=round(self.duration_s, 6),
            flaky=(self.reran or self.retries > 0) and outcome == "passed",
            crashed=self.crashed,
            breaches=self.breaches,
            cause=self.cause if outcome in _EXPLAINED else None,
        )


_EXPLAINED = frozenset({"failed", "error", "skipped"})
"""The outcomes a record gives a cause for: why it failed, or why it skipped."""


def cause(report: pytest.TestReport) -> str | None:
    """The one line that says why a phase failed (its crash message) or skipped (the reason),
    masked, escaped and cut: what the gate's reasons and notes name."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if isinstance(longrepr, tuple | list) and len(longrepr) == 3:  # a skip: (path, line, why)
        lines = [str(longrepr[2]).removeprefix("Skipped: ")]
    elif crash is not None:
        lines = [str(crash.message)]
    else:  # rendered text (a missing fixture; anything xdist sent as a string): its "E" line
        lines = [line[1:] for line in str(longrepr or "").splitlines() if line.startswith("E ")]
        lines = lines or str(longrepr or "").splitlines()
    line = shown(_first_line(lines))
    if len(line) > CAUSE_CHARS:
        line = f"{line[:CAUSE_CHARS]}…"
    return line or None


def _first_line(texts: list[str]) -> str:
    """The first line with text; with the next one when it ends in ":", as "limits not met:"
    does, since what follows is the cause."""
    found = [line.strip() for text in texts for line in text.splitlines() if line.strip()]
    if len(found) > 1 and found[0].endswith(":"):
        return f"{found[0]} {found[1]}"
    return found[0] if found else ""


def _phase_outcome(report: pytest.TestReport, current: Outcome | None) -> Outcome | None:
    """The test's outcome after this phase: setup/teardown failures are errors."""
    expected_failure = hasattr(report, "wasxfail")
    if report.when == "teardown":
        return "error" if report.failed and current != "failed" else current
    if report.skipped:
        return "xfailed" if expected_failure else "skipped"
    if report.failed:
        return "error" if report.when == "setup" else "failed"
    if report.when == "setup":
        return current
    return "xpassed" if expected_failure else "passed"


class OutcomeCollector:
    """Accumulates reports as they arrive and yields final records in arrival order."""

    def __init__(self) -> None:
        self._tests: dict[tuple[str, str], _Progress] = {}

    def add(self, report: pytest.TestReport) -> None:
        key = (_worker(report), report.nodeid)
        progress = self._tests.get(key)
        if progress is None:
            progress = self._tests[key] = _Progress()
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if isinstance(data, dict) and data.get("v") == WIRE_VERSION:
            progress.absorb(data)
        progress.duration_s += report.duration
        if str(report.outcome) == "rerun":  # pytest-rerunfailures: only the final run counts
            progress.reran, progress.outcome = True, None
            progress.breaches, progress.cause = (), None
            return
        if report.when in {"setup", "call", "teardown"}:
            outcome = _phase_outcome(report, progress.outcome)
        elif report.failed:
            outcome, progress.crashed = "error", True
        else:
            return
        if outcome != progress.outcome and outcome in _EXPLAINED:
            progress.cause = cause(report)  # the phase that decided the outcome says why
        progress.outcome = outcome

    def records(self, *, unfinished: bool = True) -> tuple[TestRecord, ...]:
        """One record per test; a test with no final outcome counts as an error, unless
        `unfinished` is False (an interrupted run: the interruption is the reason, not it)."""
        return tuple(
            progress.record(nodeid)
            for (_, nodeid), progress in self._tests.items()
            if unfinished or progress.outcome is not None
        )

    def requests(self) -> list[dict[str, Any]]:
        return [request for progress in self._tests.values() for request in progress.requests]

    def load_runs(self) -> list[dict[str, Any]]:
        """Every load run, with the test that made it, in arrival order."""
        return [
            {"nodeid": nodeid, **run}
            for (_, nodeid), progress in self._tests.items()
            for run in progress.loads
        ]

    def request_totals(self) -> tuple[int, int]:
        """Every request the tests sent (each attempt) and how many failed (`recording.failed`):
        the `requests` and `failed_requests` of the gate's snapshot."""
        statuses = [request["status"] for request in self.requests()]
        return len(statuses), sum(1 for status in statuses if failed(status))

    def request_counts(self) -> dict[str, int]:
        """Requests per node id, summed over every run of it (xdist's --dist each)."""
        counts: dict[str, int] = {}
        for (_, nodeid), progress in self._tests.items():
            counts[nodeid] = counts.get(nodeid, 0) + len(progress.requests)
        return counts

    def reported(self) -> set[str]:
        return {nodeid for _, nodeid in self._tests}


def _worker(report: pytest.TestReport) -> str:
    """The xdist worker a report came from ("" without xdist): each run of a test counts."""
    gateway = getattr(getattr(report, "node", None), "gateway", None)
    return str(getattr(gateway, "id", ""))
