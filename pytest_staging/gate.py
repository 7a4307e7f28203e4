"""The GO / NO-GO decision: pure functions over one snapshot of the run.

Nothing here touches pytest. The plugin turns test reports into
`TestRecord`s, builds a `RunSnapshot` and asks `decide()`; tests build
snapshots directly. Each rule looks at the snapshot and returns the reasons
it objects to; the verdict is GO only when no rule objects.

A NO-GO is read by someone who must act on it, so its reasons say what broke
before how much: the failed critical tests, then each failed test with its
one-line cause, then the rest (incomplete runs, rates, limits). Notes are what
every report shows beside the verdict without changing it (a partial run, why
tests of a gated category skipped). Rates are shown by `percent`, and only by it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import IntEnum
from typing import Literal

# Written in `markers` (a run without a target registers them but never imports the gate);
# the gate is where the rest of the code looks for them.
from pytest_staging.markers import BUILTIN_CATEGORIES as BUILTIN_CATEGORIES  # noqa: PLC0414
from pytest_staging.markers import DEFAULT_THRESHOLDS as DEFAULT_THRESHOLDS  # noqa: PLC0414
from pytest_staging.markers import OTHER as OTHER  # noqa: PLC0414

TestOutcome = Literal["passed", "failed", "error", "skipped", "xfailed", "xpassed"]


class ExitCode(IntEnum):
    """Exit codes of a gated run (pytest's own codes are kept for interruptions)."""

    GO = 0
    NO_GO = 1
    NOT_READY = 69
    """sysexits' EX_UNAVAILABLE: the target never became ready, or never answered."""


@dataclass(frozen=True)
class TestRecord:
    """The final outcome of one test, as the gate sees it."""

    __test__ = False

    nodeid: str
    outcome: TestOutcome
    categories: tuple[str, ...] = (OTHER,)
    critical: bool = False
    duration_s: float = 0.0
    flaky: bool = False
    crashed: bool = False
    breaches: tuple[str, ...] = ()
    """Declared limits (latency budgets, load thresholds) this test found broken."""
    cause: str | None = None
    """One line: why a failed test failed (its crash message), or why a skipped one skipped."""

    def counts_as_failed_in(self, categories: frozenset[str]) -> bool:
        """A flaky pass in one of `categories` (`--staging-flaky-fails`): counted as failed."""
        return (
            self.flaky and self.outcome == "passed" and not categories.isdisjoint(self.categories)
        )


@dataclass(frozen=True)
class RunSnapshot:
    """Everything the verdict depends on."""

    tests: tuple[TestRecord, ...]
    thresholds: Mapping[str, float]
    explicit: frozenset[str] = frozenset()
    min_tests: Mapping[str, int] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    collection_errors: int = 0
    interrupted: bool = False
    stopped_early: str | None = None
    not_ready: str | None = None
    never_reported: int = 0
    regressions: tuple[str, ...] = ()
    """Latency regressions against the baseline report; they fail `performance`."""
    flaky_fails: frozenset[str] = frozenset()
    """Categories in which a flaky pass counts as failed (`--staging-flaky-fails`)."""
    requests: int = 0
    """Every request the tests sent, each attempt counted (a retried request's first included)."""
    failed_requests: int = 0
    """Of `requests`, those that failed: no answer, or a status of 500 or more."""
    max_error_rate: float | None = None
    """Percent of `requests` that may fail (`[gates] max_error_rate`); None: the rule is off."""
    deselected: int = 0
    """Tests the user's selection (`-k`, `-m`, `--deselect`, ...) left out."""
    selection: tuple[str, ...] = ()
    """How the user narrowed the run, as shown: `("-k health", "--lf")`."""
    allow_partial: bool = True
    """False: a run narrowed by the user's selection is NO-GO (`allow_partial = false`)."""
    rerun_selection: str | None = None
    """The option that chose tests by an earlier run's results (`--lf`): never GO."""
    fail_fast: str | None = None
    """Why `--staging-fail-fast` stopped the run early."""


PERFORMANCE = "performance"


@dataclass(frozen=True)
class CategoryResult:
    """Counts, rate and gate status of one category."""

    name: str
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0
    threshold: float | None = None
    required: bool = False
    min_tests: int = 0
    breaches: tuple[str, ...] = ()
    """Broken declared limits: each fails the category, whatever its pass rate."""
    flaky_failed: tuple[str, ...] = ()
    """Flaky tests counted as failed here (`--staging-flaky-fails`), among `failed`."""

    @property
    def executed(self) -> int:
        return self.passed + self.failed + self.errors

    @property
    def pass_rate(self) -> float | None:
        """Percent of executed tests that passed; None when none ran."""
        return None if self.executed == 0 else 100.0 * self.passed / self.executed

    @property
    def rate_ok(self) -> bool | None:
        """The counts against threshold and min_tests: True/False when gated, else None."""
        if self.executed < self.min_tests:
            return False
        if self.threshold is None:
            return None
        if self.executed == 0:
            return False if self.required else None
        return self.passed * 100 >= self.threshold * self.executed

    @property
    def ok(self) -> bool | None:
        """True/False when gated, None when the category does not gate; a breach fails it."""
        return False if self.breaches else self.rate_ok

    @property
    def status(self) -> str:
        if self.ok is False:
            return "FAIL"
        if self.executed == 0:
            return "not run"
        return "OK" if self.ok else "not gated"


@dataclass(frozen=True)
class Verdict:
    """The decision with everything a report shows about it."""

    go: bool
    reasons: tuple[str, ...]
    categories: tuple[CategoryResult, ...]
    totals: CategoryResult
    critical_failures: tuple[str, ...] = ()
    flaky: tuple[str, ...] = ()
    tolerated: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    """Lines every report shows with the verdict that do not change it (a partial run, skips)."""
    error_rate: float | None = None
    """Percent of the run's requests that failed; None when no request was sent."""

    @property
    def label(self) -> str:
        return "GO" if self.go else "NO-GO"


_FAILED: frozenset[str] = frozenset({"failed", "error"})


def percent(value: float, threshold: float | None = None, *, fails_above: bool = False) -> str:
    """A rate as a person reads it: half up to one decimal (14 of 17 is 82.4 %), and two
    significant digits under 1 % (an error rate of 0.042 % is not 0 %).

    Given its `threshold`, a failing rate (below it; above it with `fails_above`, as an error
    rate against its limit) is never shown at or past it: 99.96 against 100 shows 99.9 %, not
    the 100 % it missed.
    """
    places = 1 if value == 0 or abs(value) >= 1 else 1 - math.floor(math.log10(abs(value)))
    shown = _rounded(value, places, ROUND_HALF_UP)
    if threshold is not None:
        limit = Decimal(repr(float(threshold)))
        if fails_above and value > threshold and shown <= limit:
            shown = _rounded(value, places, ROUND_CEILING)
        elif not fails_above and value < threshold and shown >= limit:
            shown = _rounded(value, places, ROUND_FLOOR)
    return f"{shown.normalize():f}%"


def _rounded(value: float, places: int, rounding: str) -> Decimal:
    """`value` to `places` decimals the way it reads (its shortest repr, not its binary float)."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), rounding=rounding)


def percent_or_dash(
    value: float | None, threshold: float | None = None, *, fails_above: bool = False
) -> str:
    """A rate or threshold as reports show it: `-` where there is none."""
    return "-" if value is None else percent(value, threshold, fails_above=fails_above)


_COUNTED_AS = {"xpassed": "passed", "error": "errors"}


def count(
    name: str,
    tests: tuple[TestRecord, ...],
    *,
    threshold: float | None = None,
    required: bool = False,
    min_tests: int = 0,
    breaches: tuple[str, ...] = (),
    flaky_fails: frozenset[str] = frozenset(),
) -> CategoryResult:
    """Tally the tests' final outcomes; each test counts once (a non-strict xpass passed).

    A flaky pass in one of `flaky_fails` counts as failed (`--staging-flaky-fails`).
    """
    flaky_failed = tuple(test.nodeid for test in tests if test.counts_as_failed_in(flaky_fails))
    tally = Counter(_COUNTED_AS.get(test.outcome, test.outcome) for test in tests)
    tally["passed"] -= len(flaky_failed)
    tally["failed"] += len(flaky_failed)
    return CategoryResult(
        name,
        passed=tally["passed"],
        failed=tally["failed"],
        errors=tally["errors"],
        skipped=tally["skipped"],
        xfailed=tally["xfailed"],
        threshold=threshold,
        required=required,
        min_tests=min_tests,
        breaches=breaches,
        flaky_failed=flaky_failed,
    )


def _breaches_by_category(snapshot: RunSnapshot) -> dict[str, list[str]]:
    """A failed test's broken limits go to its first category; regressions to performance."""
    found: dict[str, list[str]] = {}
    for test in snapshot.tests:
        if test.breaches and test.outcome in _FAILED:
            found.setdefault(test.categories[0], []).extend(test.breaches)
    if snapshot.regressions:
        found.setdefault(PERFORMANCE, []).extend(snapshot.regressions)
    return found


def category_results(snapshot: RunSnapshot) -> tuple[CategoryResult, ...]:
    """One result per known category, plus any category the tests carried."""
    names = list(snapshot.categories)
    for test in snapshot.tests:
        names.extend(name for name in test.categories if name not in names)
    if OTHER not in names and OTHER in snapshot.thresholds:
        names.append(OTHER)
    breaches = _breaches_by_category(snapshot)
    names.extend(name for name in breaches if name not in names)
    return tuple(
        count(
            name,
            tuple(t for t in snapshot.tests if name in t.categories),
            threshold=snapshot.thresholds.get(name),
            required=name in snapshot.explicit,
            min_tests=snapshot.min_tests.get(name, 0),
            breaches=tuple(breaches.get(name, ())),
            flaky_fails=snapshot.flaky_fails & {name},
        )
        for name in names
    )


Rule = Callable[[RunSnapshot, tuple[CategoryResult, ...]], list[str]]


def _not_ready(snapshot: RunSnapshot, _: tuple[CategoryResult, ...]) -> list[str]:
    return [snapshot.not_ready] if snapshot.not_ready else []


def _interrupted(snapshot: RunSnapshot, _: tuple[CategoryResult, ...]) -> list[str]:
    return ["the run was interrupted before it finished"] if snapshot.interrupted else []


def _collection_errors(snapshot: RunSnapshot, _: tuple[CategoryResult, ...]) -> list[str]:
    n = snapshot.collection_errors
    return [f"{n} error(s) during collection: some tests never ran"] if n else []


def _stopped_early(snapshot: RunSnapshot, _: tuple[CategoryResult, ...]) -> list[str]:
    stopped = snapshot.stopped_early
    if not stopped or snapshot.fail_fast:
        return []
    return [f"the run stopped early ({stopped}): not every test ran"]


def _failed_fast(snapshot: RunSnapshot, _: tuple[CategoryResult, ...]) -> list[str]:
    """Why it stopped is a reason of its own already (`certainly_no_go` finds only those)."""
    if not snapshot.fail_fast:
        return []
    return ["--staging-fail-fast stopped the run once the verdict was certain: not every test ran"]


def _incomplete(snapshot: RunSnapshot) -> bool:
    """Another rule already says the run did not run everything."""
    return bool(
        snapshot.not_ready
        or snapshot.interrupted
        or snapshot.collection_errors
        or snapshot.stopped_early
        or snapshot.fail_fast
    )


def _partial_line(snapshot: RunSnapshot) -> str:
    total = len(snapshot.tests) + snapshot.never_reported + snapshot.deselected
    narrowed = f" ({' '.join(snapshot.selection)})" if snapshot.selection else ""
    return f"partial run: {snapshot.deselected} of {total} tests deselected{narrowed}"


def _partial(snapshot: RunSnapshot, _: tuple[CategoryResult, ...]) -> list[str]:
    if snapshot.allow_partial or not snapshot.deselected:
        return []
    return [f"{_partial_line(snapshot)}, and allow_partial = false makes a partial run NO-GO"]


def _rerun_selection(snapshot: RunSnapshot, _: tuple[CategoryResult, ...]) -> list[str]:
    chosen_by = snapshot.rerun_selection
    if not chosen_by:
        return []
    return [
        f"{chosen_by} chose the tests by an earlier run's results: a re-run never gives GO, "
        "run every test again"
    ]


def _error_rate(snapshot: RunSnapshot, _: tuple[CategoryResult, ...]) -> list[str]:
    limit, failed, sent = snapshot.max_error_rate, snapshot.failed_requests, snapshot.requests
    if limit is None or not sent or failed * 100 <= limit * sent:
        return []
    return [
        f"error rate {percent(100 * failed / sent, limit, fails_above=True)} ({failed} of "
        f"{sent} requests, retries included, got no answer or a status >= 500) is above "
        f"max_error_rate {percent(limit)}"
    ]


def _no_tests(snapshot: RunSnapshot, _: tuple[CategoryResult, ...]) -> list[str]:
    if _incomplete(snapshot) or any(
        t.outcome not in {"skipped", "xfailed"} for t in snapshot.tests
    ):
        return []
    return ["no test ran: the gate never passes without tests"]


def _nothing_gated(snapshot: RunSnapshot, results: tuple[CategoryResult, ...]) -> list[str]:
    executed = [r for r in results if r.executed]
    if _incomplete(snapshot) or not executed or any(r.threshold is not None for r in executed):
        return []
    gated = ", ".join(name for name in snapshot.thresholds)
    return [
        f"no test ran in a gated category ({gated}): mark tests with a category, "
        f"or gate them with --staging-gate {OTHER}=PERCENT"
    ]


def _never_reported(snapshot: RunSnapshot, _: tuple[CategoryResult, ...]) -> list[str]:
    n = snapshot.never_reported
    if not n or _incomplete(snapshot):
        return []
    return [f"{n} collected test(s) never reported a result"]


def _thresholds(_: RunSnapshot, results: tuple[CategoryResult, ...]) -> list[str]:
    reasons: list[str] = []
    for result in results:
        reasons.extend(f"{result.name}: {breach}" for breach in result.breaches)
        if result.rate_ok is not False:
            continue
        if result.executed < result.min_tests:
            reasons.append(
                f"{result.name}: {result.executed} test(s) ran, at least "
                f"{result.min_tests} required"
            )
        elif result.pass_rate is None:
            reasons.append(
                f"{result.name}: no test ran, but its threshold of "
                f"{percent(result.threshold or 0)} was set explicitly"
            )
        else:
            reasons.append(
                f"{result.name}: pass rate {percent(result.pass_rate, result.threshold)} "
                f"({result.passed} of {result.executed}) is below the threshold "
                f"{percent(result.threshold or 0)}"
            )
            reasons.extend(_flaky_failed_reason(result))
    return reasons


def _flaky_failed_reason(result: CategoryResult) -> list[str]:
    n = len(result.flaky_failed)
    if not n:
        return []
    tests = "test" if n == 1 else "tests"
    return [
        f"{result.name}: {n} flaky {tests} counted as failed (--staging-flaky-fails): "
        + ", ".join(result.flaky_failed)
    ]


def _critical(snapshot: RunSnapshot, _: tuple[CategoryResult, ...]) -> list[str]:
    return [
        f"critical test failed: {_with_cause(t)}"
        for t in snapshot.tests
        if t.critical and t.outcome in _FAILED
    ]


def _crashed(snapshot: RunSnapshot, _: tuple[CategoryResult, ...]) -> list[str]:
    return [f"a worker crashed while running {t.nodeid}" for t in snapshot.tests if t.crashed]


RULES: tuple[Rule, ...] = (
    _critical,
    _not_ready,
    _interrupted,
    _collection_errors,
    _stopped_early,
    _failed_fast,
    _crashed,
    _never_reported,
    _no_tests,
    _nothing_gated,
    _rerun_selection,
    _partial,
    _thresholds,
    _error_rate,
)

MAX_CAUSES = 10
"""Failed tests named with their cause in the reasons; the rest are counted."""
MAX_SKIP_REASONS = 5
"""Distinct skip reasons noted per category; the rest are counted."""


def _with_cause(test: TestRecord) -> str:
    return f"{test.nodeid}: {test.cause}" if test.cause else test.nodeid


def _causes(snapshot: RunSnapshot) -> list[str]:
    """What broke: each failed test (critical ones are named already) with its one-line cause."""
    failed = [
        t for t in snapshot.tests if t.outcome in _FAILED and not t.critical and not t.crashed
    ]
    lines = [f"{t.outcome.upper()} {_with_cause(t)}" for t in failed[:MAX_CAUSES]]
    if len(failed) > MAX_CAUSES:
        lines.append(f"... and {len(failed) - MAX_CAUSES} more failed tests (see the test report)")
    return lines


def _what_broke_first(snapshot: RunSnapshot, objections: list[str]) -> tuple[str, ...]:
    """The reasons as a person reads them: the failed critical tests, each failed test's
    cause, then the rest (incomplete runs, rates, limits)."""
    critical = set(_critical(snapshot, ()))
    return (
        *(reason for reason in objections if reason in critical),
        *_causes(snapshot),
        *(reason for reason in objections if reason not in critical),
    )


def _skip_notes(result: CategoryResult, tests: tuple[TestRecord, ...]) -> list[str]:
    """One line per distinct skip reason of a gated category, most frequent first."""
    if result.threshold is None or not result.skipped:
        return []
    why = Counter(t.cause or "no reason given" for t in tests if t.outcome == "skipped")
    common = why.most_common()
    lines = [f"{result.name}: {n} skipped: {cause}" for cause, n in common[:MAX_SKIP_REASONS]]
    rest = common[MAX_SKIP_REASONS:]
    if rest:
        lines.append(
            f"{result.name}: {sum(n for _, n in rest)} skipped for {len(rest)} other reasons"
        )
    return lines


def _notes(snapshot: RunSnapshot, results: tuple[CategoryResult, ...]) -> tuple[str, ...]:
    """What every report says next to the verdict without changing it."""
    lines = [_partial_line(snapshot)] if snapshot.deselected and snapshot.allow_partial else []
    for result in results:
        in_category = tuple(t for t in snapshot.tests if result.name in t.categories)
        lines.extend(_skip_notes(result, in_category))
    return tuple(lines)


def error_rate(snapshot: RunSnapshot) -> float | None:
    """Percent of the run's requests that failed; None when none was sent."""
    sent = snapshot.requests
    return 100.0 * snapshot.failed_requests / sent if sent else None


def decide(snapshot: RunSnapshot, rules: tuple[Rule, ...] = RULES) -> Verdict:
    """GO when no rule objects; otherwise NO-GO with every objection as a reason, after
    what broke."""
    results = category_results(snapshot)
    objections = [reason for rule in rules for reason in rule(snapshot, results)]
    failed = tuple(t.nodeid for t in snapshot.tests if t.outcome in _FAILED)
    counted_failed = tuple(
        t.nodeid
        for t in snapshot.tests
        if t.outcome in _FAILED or t.counts_as_failed_in(snapshot.flaky_fails)
    )
    return Verdict(
        go=not objections,
        reasons=_what_broke_first(snapshot, objections) if objections else (),
        categories=results,
        totals=count("total", snapshot.tests, flaky_fails=snapshot.flaky_fails),
        critical_failures=tuple(
            t.nodeid for t in snapshot.tests if t.critical and t.nodeid in failed
        ),
        flaky=tuple(t.nodeid for t in snapshot.tests if t.flaky),
        tolerated=counted_failed if not objections else (),
        notes=_notes(snapshot, results),
        error_rate=error_rate(snapshot),
    )


def certainly_no_go(snapshot: RunSnapshot, remaining: Mapping[str, int]) -> str | None:
    """Why the verdict can no longer be GO, from the tests reported so far and how many tests
    of each category are still to run; None while it still can. For `--staging-fail-fast`.

    Certain means: a critical test failed, or a gated category misses its threshold (or its
    `min_tests`, or a declared limit broke) even if every remaining test of it passes.
    """
    critical = _critical(snapshot, ())
    if critical:
        return critical[0]
    for result in category_results(snapshot):
        reason = _out_of_reach(result, remaining.get(result.name, 0))
        if reason:
            return reason
    return None


def _out_of_reach(result: CategoryResult, remaining: int) -> str | None:
    """Why `result` fails even if its `remaining` tests all pass, or None."""
    best = replace(result, passed=result.passed + remaining)
    if best.ok is not False:
        return None
    name, threshold = result.name, result.threshold or 0
    if result.breaches:
        return f"{name}: {result.breaches[0]}"
    if best.executed < result.min_tests:
        return (
            f"{name}: at most {best.executed} test(s) can run, at least {result.min_tests} required"
        )
    if best.pass_rate is None:
        return f"{name}: no test ran, but its threshold of {percent(threshold)} was set explicitly"
    return (
        f"{name}: {result.executed - result.passed} of {best.executed} tests failed already, so "
        f"the pass rate can reach at most {percent(best.pass_rate, threshold)}, below the "
        f"threshold {percent(threshold)}"
    )


def exit_code(verdict: Verdict, snapshot: RunSnapshot, pytest_status: int) -> int:
    """The run's exit code: not ready first; pytest's own for interruptions; else the verdict's."""
    if snapshot.not_ready:
        return ExitCode.NOT_READY
    if pytest_status in {2, 3, 4}:  # interrupted (or collection errors), internal, usage error
        return pytest_status
    return ExitCode.GO if verdict.go else ExitCode.NO_GO
