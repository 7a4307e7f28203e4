"""From pytest's per-phase test reports to one final `TestRecord` per test.

Our per-test data (categories, critical, the requests made) rides on each
`TestReport` as one versioned attribute, so the same code serves runs with
and without xdist: xdist ships the report's attributes to the controller.

Wire format, version 2 (every key optional except `v`): `categories` and
`critical` on the setup report; `requests`, `breaches`, `load`, `retries` (the
retries that rescued a request, see `retrying.rescued`: they make a passing
test flaky), `reran` (on the call phase of a test the flaky plugin ran again
after a failure it never reported) and `answer` on the phase that made them.
Keys were only ever added, so `v` stays 2: a reader ignores keys it does not
know. A test's cause (why it failed or skipped) is read from the report's own
`longrepr`, which xdist ships anyway.

One run of a test is every report it produced, folded: a failed subtest fails
the test whatever the test's own report says afterwards (pytest reports a
subtest under the test's node id, and the test's pass or skip comes last). A
retry plugin's attempts make a pass flaky: pytest-rerunfailures reports each
failed attempt as "rerun"; pytest-retry reports a test's first failure once
with its retry outcome ("retried", or its `--retry-outcome`) and the same
report again with the final outcome; flaky reports only the last run and
keeps the earlier runs' errors on the item (`FLAKY_ERRORS`). Two items with
one node id (`--keep-duplicates`, or xdist's `--dist each` on several
workers) are two runs, each counted, as pytest counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from pytest_staging.gate import OTHER, TestOutcome, TestRecord
from pytest_staging.markers import CRITICAL
from pytest_staging.phase_log import failed
from pytest_staging.redaction import response_excerpt, shown

if TYPE_CHECKING:
    import httpx

    from pytest_staging.phase_log import Phase

REPORT_ATTRIBUTE = "pytest_staging"
WIRE_VERSION = 2
ANSWER_EXCERPT_CHARS = 2000
CAUSE_CHARS = 200
"""A test's one-line cause (the gate's reasons, the reports) is cut here."""
FLAKY_MAX_RUNS = "_flaky_max_runs"
FLAKY_ERRORS = "_flaky_current_errors"
"""Where the flaky plugin keeps, on a test item it may run again, how often it may run it and
the errors of its runs that failed. flaky reports the call of a test's last run only, so
these alone say that a test was retried."""
_FLAKY_CALLS = pytest.StashKey[list[dict[str, Any]]]()
"""The requests of every call of a test flaky may run again, so far."""


def categories_of(item: pytest.Item, categories: tuple[str, ...]) -> tuple[str, ...]:
    """The known `categories` an item is marked with, in their order; `other` without one."""
    names = {mark.name for mark in item.iter_markers()}
    return tuple(name for name in categories if name in names) or (OTHER,)


def report_data(
    item: pytest.Item,
    when: str,
    categories: tuple[str, ...],
    phase: Phase,
    answer: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The plain, serialisable data one test phase carries to the controller, or None.

    pytest keeps every report until the session ends, so each carries the least it
    can: the categories on the setup report, the evidence on the phase that made it.
    """
    data: dict[str, Any] = {}
    if when == "setup":
        data["categories"] = categories_of(item, categories)
        data["critical"] = item.get_closest_marker(CRITICAL) is not None
    sent = _with_unreported(item, when, [record.to_dict() for record in phase.requests])
    if sent:
        data["requests"] = sent
    if phase.breaches:
        data["breaches"] = phase.breaches
    if phase.loads:
        data["load"] = phase.loads
    if phase.retries:
        data["retries"] = phase.retries
    if when == "call" and getattr(item, FLAKY_ERRORS, None):
        data["reran"] = True
    if answer is not None:
        data["answer"] = answer
    if not data:
        return None
    data["v"] = WIRE_VERSION
    return data


def _with_unreported(
    item: pytest.Item, when: str, requests: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """A phase's requests; the call of a test flaky may run again carries those of the calls
    before it too, which flaky did not report (every attempt counts toward the error rate)."""
    if when != "call" or getattr(item, FLAKY_MAX_RUNS, None) is None:
        return requests
    calls = item.stash.setdefault(_FLAKY_CALLS, [])
    calls.extend(requests)
    return list(calls)


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
    outcome: TestOutcome | None = None
    duration_s: float = 0.0
    reran: bool = False
    crashed: bool = False
    requests: tuple[dict[str, Any], ...] = ()
    breaches: tuple[str, ...] = ()
    loads: tuple[dict[str, Any], ...] = ()
    retries: int = 0
    cause: str | None = None
    failed_subtests: int = 0
    first_failed_subtest: str | None = None
    """`[msg] (key=value): cause` of the first subtest that failed, shown and cut."""
    rerunning: bool = False
    """A rerun was reported: the next attempt's setup belongs to this run."""
    over: bool = False
    """The run's teardown was reported: a setup after it starts another run of the node id."""

    def absorb(self, data: dict[str, Any]) -> None:
        """One phase's data: categories from setup, evidence from whichever phase has it."""
        if "categories" in data:
            self.categories = tuple(data["categories"])
            self.critical = bool(data["critical"])
        self.retries += int(data.get("retries", 0))
        self.reran |= bool(data.get("reran"))
        self.requests += tuple(data.get("requests", ()))
        self.breaches += tuple(data.get("breaches", ()))
        self.loads += tuple(data.get("load", ()))

    def add_subtest(self, context: str, report: pytest.TestReport) -> None:
        """A subtest's report: only a failure changes the test (it fails it)."""
        if not report.failed:
            return
        self.failed_subtests += 1
        if self.first_failed_subtest is None:
            self.first_failed_subtest = f"{shown(context)}: {cause(report) or 'failed'}"

    def start_again(self) -> None:
        """A retry plugin runs the test again: only the next attempt's outcome counts, and a
        pass after it is flaky."""
        self.reran, self.rerunning, self.over = True, True, False
        self.outcome, self.breaches, self.cause = None, (), None
        self.failed_subtests, self.first_failed_subtest = 0, None

    def record(self, nodeid: str) -> TestRecord:
        outcome, why = self.outcome or "error", self.cause
        if self.failed_subtests and outcome != "error":
            outcome, why = "failed", self._subtests_cause()
        return TestRecord(
            nodeid=nodeid,
            outcome=outcome,
            categories=self.categories,
            critical=self.critical,
            duration_s=round(self.duration_s, 6),
            flaky=(self.reran or self.retries > 0) and outcome == "passed",
            crashed=self.crashed,
            breaches=self.breaches,
            cause=why if outcome in _EXPLAINED else None,
        )

    def _subtests_cause(self) -> str:
        """The first failed subtest names the cause: it is the first failure in time, and the
        test's own report only says that it contains failed subtests, if anything."""
        n = self.failed_subtests
        first = self.first_failed_subtest
        return _cut(f"subtest {first}" if n == 1 else f"{n} subtests failed, the first {first}")


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
    return _cut(shown(_first_line(lines))) or None


def _cut(line: str) -> str:
    return f"{line[:CAUSE_CHARS]}…" if len(line) > CAUSE_CHARS else line


def _first_line(texts: list[str]) -> str:
    """The first line with text; with the next one when it ends in ":", as "limits not met:"
    does, since what follows is the cause."""
    found = [line.strip() for text in texts for line in text.splitlines() if line.strip()]
    if len(found) > 1 and found[0].endswith(":"):
        return f"{found[0]} {found[1]}"
    return found[0] if found else ""


def _phase_outcome(report: pytest.TestReport, current: TestOutcome | None) -> TestOutcome | None:
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


RERUN = "rerun"
"""pytest-rerunfailures' outcome of a failed attempt it runs again (the attempt's own report)."""
PYTEST_OUTCOMES = frozenset({"passed", "failed", "skipped"})
"""Any other outcome but `RERUN` is a retry plugin's notice that it runs the test again
(pytest-retry's "retried", or its `--retry-outcome`): the same report comes again with the
final outcome, evidence included, so the notice adds nothing but the retry."""


class RecordCollector:
    """Accumulates reports as they arrive and yields final records in arrival order."""

    def __init__(self) -> None:
        self._runs: list[tuple[str, _Progress]] = []
        self._current: dict[tuple[str, str], _Progress] = {}

    def add(self, report: pytest.TestReport) -> None:
        progress = self._run_of(report)
        reported = str(report.outcome)
        if reported not in PYTEST_OUTCOMES and reported != RERUN:
            progress.reran = True
            return
        data = getattr(report, REPORT_ATTRIBUTE, None)
        if isinstance(data, dict) and data.get("v") == WIRE_VERSION:
            progress.absorb(data)
        context = _subtest_context(report)
        if context is not None:
            progress.add_subtest(context, report)
            return
        progress.duration_s += report.duration
        if reported == RERUN:  # only the final attempt counts
            progress.start_again()
            return
        if report.when in {"setup", "call", "teardown"}:
            progress.rerunning &= report.when != "setup"
            progress.over = report.when == "teardown" and not progress.rerunning
            outcome = _phase_outcome(report, progress.outcome)
        elif report.failed:
            outcome, progress.crashed = "error", True
        else:
            return
        if outcome != progress.outcome and outcome in _EXPLAINED:
            progress.cause = cause(report)  # the phase that decided the outcome says why
        progress.outcome = outcome

    def _run_of(self, report: pytest.TestReport) -> _Progress:
        """The run a report belongs to: a setup after the teardown of a test with an outcome
        (on the same worker) is the next item with its node id; after one without, it is
        the same test again (flaky reports the setup and teardown of a run it retries, not
        its call)."""
        key = (_worker(report), report.nodeid)
        progress = self._current.get(key)
        if progress is None or (
            report.when == "setup" and progress.over and progress.outcome is not None
        ):
            progress = self._current[key] = _Progress()
            self._runs.append((report.nodeid, progress))
        return progress

    def records(self, *, unfinished: bool = True) -> tuple[TestRecord, ...]:
        """One record per run of a test; a test with no final outcome counts as an error, unless
        `unfinished` is False (an interrupted run: the interruption is the reason, not it)."""
        return tuple(
            progress.record(nodeid)
            for nodeid, progress in self._runs
            if unfinished or progress.outcome is not None
        )

    def requests(self) -> list[dict[str, Any]]:
        return [request for _, progress in self._runs for request in progress.requests]

    def load_runs(self) -> list[dict[str, Any]]:
        """Every load run, with the test that made it, in arrival order."""
        return [
            {"nodeid": nodeid, **run} for nodeid, progress in self._runs for run in progress.loads
        ]

    def request_totals(self) -> tuple[int, int]:
        """Every request the tests sent (each attempt) and how many failed (`phase_log.failed`):
        the `requests` and `failed_requests` of the gate's snapshot."""
        statuses = [request["status"] for request in self.requests()]
        return len(statuses), sum(1 for status in statuses if failed(status))

    def request_counts(self) -> dict[str, int]:
        """Requests per node id, summed over every run of it (duplicates, xdist's --dist each)."""
        counts: dict[str, int] = {}
        for nodeid, progress in self._runs:
            counts[nodeid] = counts.get(nodeid, 0) + len(progress.requests)
        return counts

    def reported(self) -> set[str]:
        return {nodeid for nodeid, _ in self._runs}


def _subtest_context(report: pytest.TestReport) -> str | None:
    """A subtest's context as pytest shows it, `[msg] (key=value)`, raw (unmasked); None for
    a test's own reports. Subtest reports (pytest's `subtests` fixture and unittest's
    `subTest` since pytest 9.0, the pytest-subtests plugin before) carry a `context` with
    the subtest's message and parameters."""
    context = getattr(report, "context", None)
    if context is None or not hasattr(context, "kwargs"):
        return None
    parts = [] if context.msg is None else [f"[{context.msg}]"]
    if context.kwargs:
        parts.append(f"({', '.join(f'{key}={value}' for key, value in context.kwargs.items())})")
    return " ".join(parts) or "(<subtest>)"


def _worker(report: pytest.TestReport) -> str:
    """The xdist worker a report came from ("" without xdist): each run of a test counts."""
    gateway = getattr(getattr(report, "node", None), "gateway", None)
    return str(getattr(gateway, "id", ""))
