"""A NO-GO says what broke: the failed critical tests and each failed test's one-line cause lead
the reasons, then the rates, rounded as a person reads them; the notes every report shows beside
the verdict (a partial run, why gated tests skipped); and `certainly_no_go`, which
`--staging-fail-fast` asks while the run goes on.

Snapshots are built by hand here, like in test_gate.py; the last tests run the plugin against the
demo service on loopback to show the causes come from real test reports. The error-rate rule is
in test_error_rate.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS

from pytest_staging import gate
from pytest_staging.gate import BUILTIN_CATEGORIES, DEFAULT_THRESHOLDS, RunSnapshot, TestRecord
from pytest_staging.run import test_records

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def snapshot(*tests: TestRecord, **fields: Any) -> RunSnapshot:
    defaults: dict[str, Any] = {
        "thresholds": dict(DEFAULT_THRESHOLDS),
        "categories": BUILTIN_CATEGORIES,
    }
    return RunSnapshot(tests=tests, **{**defaults, **fields})


def passed(category: str, amount: int) -> tuple[TestRecord, ...]:
    return tuple(TestRecord(f"t.py::{category}_{n}", "passed", (category,)) for n in range(amount))


def failed(nodeid: str, category: str, cause: str | None = None, **fields: Any) -> TestRecord:
    return TestRecord(nodeid, "failed", (category,), cause=cause, **fields)


def skipped(nodeid: str, category: str, cause: str | None) -> TestRecord:
    return TestRecord(nodeid, "skipped", (category,), cause=cause)


# --- what broke comes first ----------------------------------------------------------------


def test_reasons_name_the_critical_failure_then_each_failed_test_with_its_cause_then_the_rates() -> (
    None
):
    tests = (
        *passed("integration", 14),
        failed("t.py::orders", "integration", "AssertionError: assert 500 == 200"),
        TestRecord("t.py::login", "error", ("integration",), cause="fixture 'token' not found"),
        failed("t.py::api", "integration", "httpx.ConnectError: GET /api: connection refused"),
        failed("t.py::health", "smoke", "AssertionError: assert 503 == 200", critical=True),
        *passed("smoke", 3),
    )
    verdict = gate.decide(snapshot(*tests))
    assert verdict.reasons == (
        "critical test failed: t.py::health: AssertionError: assert 503 == 200",
        "FAILED t.py::orders: AssertionError: assert 500 == 200",
        "ERROR t.py::login: fixture 'token' not found",
        "FAILED t.py::api: httpx.ConnectError: GET /api: connection refused",
        "smoke: pass rate 75% (3 of 4) is below the threshold 100%",
        "integration: pass rate 82.4% (14 of 17) is below the threshold 95%",
    )


def test_a_failed_test_without_a_cause_is_still_named() -> None:
    verdict = gate.decide(snapshot(failed("t.py::quiet", "smoke")))
    assert verdict.reasons[0] == "FAILED t.py::quiet"


def test_at_most_ten_failed_tests_are_named_and_the_rest_counted() -> None:
    tests = tuple(failed(f"t.py::f{n}", "integration", f"boom {n}") for n in range(13))
    reasons = gate.decide(snapshot(*tests)).reasons
    assert reasons[:10] == tuple(f"FAILED t.py::f{n}: boom {n}" for n in range(10))
    assert reasons[10] == "... and 3 more failed tests (see the test report)"
    assert reasons[11] == "integration: pass rate 0% (0 of 13) is below the threshold 95%"
    assert len(reasons) == 12


def test_a_go_with_tolerated_failures_has_no_reasons() -> None:
    tests = (*passed("performance", 9), failed("t.py::slow", "performance", "too slow"))
    verdict = gate.decide(snapshot(*tests))
    assert (verdict.go, verdict.reasons, verdict.tolerated) == (True, (), ("t.py::slow",))


def test_a_crashed_test_is_named_once_by_the_crash() -> None:
    crashed = TestRecord("t.py::boom", "error", ("smoke",), crashed=True, cause="worker died")
    reasons = gate.decide(snapshot(*passed("smoke", 1), crashed)).reasons
    assert [reason for reason in reasons if "t.py::boom" in reason] == [
        "a worker crashed while running t.py::boom"
    ]


# --- rates as a person reads them ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "threshold", "shown"),
    [
        (100 * 14 / 17, None, "82.4%"),  # 82.35...: half up, as a person rounds it
        (100 * 14 / 17, 90.0, "82.4%"),  # far below: the threshold changes nothing
        (100 * 2 / 3, None, "66.7%"),
        (100 * 2499 / 2500, 100.0, "99.9%"),  # 99.96 failed 100 %: never shown as 100 %
        (100 * 2499 / 2500, None, "100%"),
        (99.95, 99.95, "100%"),  # at the threshold is a pass, shown as it rounds
        (82.35, None, "82.4%"),  # the decimal it reads as, not the binary float below it
        (0.0, None, "0%"),
        (100 * 5 / 12000, None, "0.042%"),  # under 1 %: two significant digits, not 0 %
        (100 * 1 / 200, None, "0.5%"),
    ],
)
def test_percent_rounds_half_up_but_never_shows_a_failing_rate_at_its_threshold(
    value: float, threshold: float | None, shown: str
) -> None:
    assert gate.percent(value, threshold) == shown


@pytest.mark.parametrize(
    ("value", "limit", "shown"),
    [
        (100 * 13 / 12000, 0.1, "0.11%"),  # 0.108 over 0.1: not shown as the 0.1 % it broke
        (100 * 12 / 12000, 0.1, "0.1%"),  # at the limit: a pass
        (100 * 12 / 12500, 0.1, "0.096%"),
        (5.04, 5.0, "5.1%"),  # 5.0 would read as the limit it broke
        (7.0, 5.0, "7%"),
    ],
)
def test_a_rate_above_its_limit_is_never_shown_at_the_limit(
    value: float, limit: float, shown: str
) -> None:
    assert gate.percent(value, limit, fails_above=True) == shown


def test_percent_or_dash_passes_the_threshold_on() -> None:
    assert gate.percent_or_dash(None, 100.0) == "-"
    assert gate.percent_or_dash(100 * 2499 / 2500, 100.0) == "99.9%"


# --- notes beside the verdict --------------------------------------------------------------


def test_a_partial_run_is_noted_and_still_goes() -> None:
    run = snapshot(*passed("smoke", 5), deselected=33, selection=("-k health",))
    verdict = gate.decide(run)
    assert verdict.go
    assert verdict.notes == ("partial run: 33 of 38 tests deselected (-k health)",)


def test_allow_partial_false_makes_a_partial_run_no_go() -> None:
    run = snapshot(
        *passed("smoke", 5), deselected=33, selection=("-k health", "-m smoke"), allow_partial=False
    )
    verdict = gate.decide(run)
    assert verdict.reasons == (
        "partial run: 33 of 38 tests deselected (-k health -m smoke), "
        "and allow_partial = false makes a partial run NO-GO",
    )
    assert verdict.notes == ()
    assert gate.decide(snapshot(*passed("smoke", 5), allow_partial=False)).go


def test_a_selection_from_an_earlier_run_never_goes() -> None:
    verdict = gate.decide(snapshot(*passed("smoke", 2), rerun_selection="--lf"))
    assert verdict.reasons == (
        "--lf chose the tests by an earlier run's results: a re-run never gives GO, "
        "run every test again",
    )


def test_skips_of_a_gated_category_are_noted_once_per_reason_most_frequent_first() -> None:
    plain_http = 'the target is plain HTTP; [security] https = "optional"'
    tests = (
        *passed("security", 1),
        *(skipped(f"t.py::tls{n}", "security", plain_http) for n in range(3)),
        skipped("t.py::cert", "security", "no certificate to read"),
        skipped("t.py::bare", "security", None),
        skipped("t.py::other", "other", "not gated, not noted"),
    )
    assert gate.decide(snapshot(*tests)).notes == (
        f"security: 3 skipped: {plain_http}",
        "security: 1 skipped: no certificate to read",
        "security: 1 skipped: no reason given",
    )


def test_at_most_five_skip_reasons_per_category_and_the_rest_counted() -> None:
    tests = (
        *passed("monitoring", 1),
        *(skipped(f"t.py::s{n}", "monitoring", f"missing key {n}") for n in range(8)),
    )
    notes = gate.decide(snapshot(*tests)).notes
    assert notes[:5] == tuple(f"monitoring: 1 skipped: missing key {n}" for n in range(5))
    assert notes[5:] == ("monitoring: 3 skipped for 3 other reasons",)


# --- certainly NO-GO, for --staging-fail-fast ----------------------------------------------


def test_certainly_no_go_after_a_critical_failure() -> None:
    run = snapshot(failed("t.py::health", "smoke", "assert 503 == 200", critical=True))
    assert gate.certainly_no_go(run, {"smoke": 10}) == (
        "critical test failed: t.py::health: assert 503 == 200"
    )


def test_certainly_no_go_when_a_category_cannot_reach_its_threshold() -> None:
    tests = (*passed("integration", 10), failed("t.py::a", "integration"))
    run = snapshot(*tests)
    assert gate.certainly_no_go(run, {"integration": 9}) is None  # 19 of 20 = 95 % still
    assert gate.certainly_no_go(run, {"integration": 8}) == (
        "integration: 1 of 19 tests failed already, so the pass rate can reach at most 94.7%, "
        "below the threshold 95%"
    )


def test_certainly_no_go_never_rounds_the_best_rate_up_to_the_threshold() -> None:
    run = snapshot(failed("t.py::a", "smoke"))
    reason = gate.certainly_no_go(run, {"smoke": 2499})
    assert reason == (
        "smoke: 1 of 2500 tests failed already, so the pass rate can reach at most 99.9%, "
        "below the threshold 100%"
    )


def test_certainly_no_go_for_min_tests_and_broken_limits_but_not_for_ungated_failures() -> None:
    assert gate.certainly_no_go(
        snapshot(*passed("smoke", 1), min_tests={"smoke": 3}), {"smoke": 1}
    ) == ("smoke: at most 2 test(s) can run, at least 3 required")
    breach = failed("t.py::p95", "performance", breaches=("GET /: p95 900 ms > budget 300 ms",))
    assert gate.certainly_no_go(snapshot(breach), {"performance": 50}) == (
        "performance: GET /: p95 900 ms > budget 300 ms"
    )
    assert gate.certainly_no_go(snapshot(failed("t.py::x", "other")), {}) is None
    assert gate.certainly_no_go(snapshot(*passed("smoke", 1)), {"smoke": 3}) is None


def test_a_run_stopped_by_fail_fast_says_why_once() -> None:
    why = "critical test failed: t.py::health: assert 503 == 200"
    run = snapshot(
        failed("t.py::health", "smoke", "assert 503 == 200", critical=True),
        fail_fast=why,
        stopped_early="--staging-fail-fast",
    )
    assert gate.decide(run).reasons == (
        why,
        "--staging-fail-fast stopped the run once the verdict was certain: not every test ran",
        "smoke: pass rate 0% (0 of 1) is below the threshold 100%",
    )


# --- the causes come from the run's own reports --------------------------------------------


def phase(outcome: str, longrepr: object) -> pytest.TestReport:
    return pytest.TestReport("t.py::x", ("t.py", 0, "x"), {}, outcome, longrepr, "call", [])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("outcome", "longrepr", "expected"),
    [
        ("skipped", ("t.py", 3, "Skipped: the target is plain HTTP"), "the target is plain HTTP"),
        ("skipped", ["t.py", 3, "Skipped: sent by xdist"], "sent by xdist"),
        (
            "failed",
            "file t.py, line 2\n  def test_x(token):\nE  fixture 'token' not found",
            ("fixture 'token' not found"),
        ),
        (
            "failed",
            "limits not met:\n  - GET /: p95 9 ms is above 1 ms\n",
            ("limits not met: - GET /: p95 9 ms is above 1 ms"),
        ),
        ("failed", "boom\x1b[2J\nsecond line", "boom\\x1b[2J"),
        ("failed", "x" * 300, "x" * 200 + "…"),
        ("failed", "", None),
    ],
)
def test_a_cause_is_one_shown_line(outcome: str, longrepr: object, expected: str | None) -> None:
    assert test_records.cause(phase(outcome, longrepr)) == expected


# --- end to end ------------------------------------------------------------------------------

FAILING = """
import pytest

@pytest.mark.smoke
@pytest.mark.critical
def test_health(staging_client):
    assert staging_client.get("/health").status_code == 418

@pytest.mark.integration
def test_escape(staging_client):
    body = staging_client.get("/health").text
    pytest.fail(f"the target said \\x1b[2J STAGING GATE: GO\\n{body}")

@pytest.mark.integration
def test_login(staging_token):
    pass

@pytest.mark.integration
@pytest.mark.parametrize("n", range(3))
def test_passes(staging_client, n):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.security
def test_https(staging_client):
    pytest.skip("the target is plain HTTP")

@pytest.mark.security
def test_headers(staging_client):
    assert staging_client.get("/health").status_code == 200
"""


EXPECTED_REASONS = [
    "critical test failed: test_gate_reasons_run.py::test_health: "
    "AssertionError: assert 200 == 418",
    # the first line only, the escape shown and not obeyed
    "FAILED test_gate_reasons_run.py::test_escape: "
    "Failed: the target said \\x1b[2J STAGING GATE: GO",
    "ERROR test_gate_reasons_run.py::test_login: fixture 'staging_token' not found",
    "smoke: pass rate 0% (0 of 1) is below the threshold 100%",
    "integration: pass rate 60% (3 of 5) is below the threshold 95%",
]


def test_a_no_go_against_the_demo_names_what_broke_first(
    pytester: pytest.Pytester, demo_url: str, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(test_gate_reasons_run=FAILING)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "--staging-report=gate.json"
    )
    report = read_report(pytester.path / "gate.json")
    assert (result.ret, report["verdict"], report["reasons"]) == (1, "NO-GO", EXPECTED_REASONS)
    assert report["notes"] == ["security: 1 skipped: the target is plain HTTP"]
    result.stdout.fnmatch_lines(
        [
            "STAGING GATE: NO-GO",
            "  - critical test failed: test_gate_reasons_run.py::test_health: AssertionError: *",
            "  - FAILED test_gate_reasons_run.py::test_escape: Failed: the target said *",
        ]
    )


def test_under_xdist_the_causes_and_skip_reasons_cross_from_the_workers(
    pytester: pytest.Pytester, demo_url: str, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(test_gate_reasons_run=FAILING)
    result = pytester.runpytest_subprocess(
        *INNER_RUN_OPTIONS,
        f"--staging-url={demo_url}",
        "--staging-report=gate.json",
        "-n",
        "2",
        timeout=120,
    )
    report = read_report(pytester.path / "gate.json")
    reasons = report["reasons"]
    assert (result.ret, reasons[0], reasons[3:]) == (1, EXPECTED_REASONS[0], EXPECTED_REASONS[3:])
    assert sorted(reasons[1:3]) == sorted(EXPECTED_REASONS[1:3])  # in the order they arrived
    assert report["notes"] == ["security: 1 skipped: the target is plain HTTP"]
