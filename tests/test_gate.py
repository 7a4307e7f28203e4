"""The verdict rules, on snapshots built by hand: exact rates, every NO-GO reason, exit codes."""

from __future__ import annotations

import pytest

from pytest_staging import gate
from pytest_staging.gate import (
    BUILTIN_CATEGORIES,
    DEFAULT_THRESHOLDS,
    ExitCode,
    RunSnapshot,
    TestRecord,
)


def records(category: str, **outcomes: int) -> tuple[TestRecord, ...]:
    return tuple(
        TestRecord(f"test_{category}.py::{outcome}_{n}", outcome, (category,))  # type: ignore[arg-type]
        for outcome, amount in outcomes.items()
        for n in range(amount)
    )


def snapshot(*tests: TestRecord, **fields: object) -> RunSnapshot:
    defaults: dict[str, object] = {
        "thresholds": dict(DEFAULT_THRESHOLDS),
        "categories": BUILTIN_CATEGORIES,
    }
    return RunSnapshot(tests=tests, **{**defaults, **fields})  # type: ignore[arg-type]


def by_name(verdict: gate.Verdict) -> dict[str, gate.CategoryResult]:
    return {result.name: result for result in verdict.categories}


def test_all_passing_is_go_and_not_run_categories_do_not_gate() -> None:
    verdict = gate.decide(snapshot(*records("smoke", passed=3)))
    assert verdict.go
    assert verdict.reasons == ()
    assert by_name(verdict)["smoke"].pass_rate == 100.0
    assert by_name(verdict)["integration"].status == "not run"
    assert by_name(verdict)["integration"].ok is None


def test_rate_is_passed_over_executed_with_skips_and_xfails_left_out() -> None:
    tests = records("integration", passed=19, failed=1, skipped=4, xfailed=2)
    result = by_name(gate.decide(snapshot(*tests)))["integration"]
    assert (result.passed, result.failed, result.skipped, result.xfailed) == (19, 1, 4, 2)
    assert result.pass_rate == 95.0
    assert result.ok is True


def test_errors_count_against_the_rate() -> None:
    tests = records("integration", passed=18, error=2)
    verdict = gate.decide(snapshot(*tests))
    assert by_name(verdict)["integration"].errors == 2
    assert by_name(verdict)["integration"].pass_rate == 90.0
    assert verdict.reasons == (
        "ERROR test_integration.py::error_0",
        "ERROR test_integration.py::error_1",
        "integration: pass rate 90% (18 of 20) is below the threshold 95%",
    )


def test_a_rate_just_under_the_threshold_never_shows_as_the_threshold() -> None:
    tests = records("smoke", passed=2499, failed=1)
    verdict = gate.decide(snapshot(*tests))
    assert not verdict.go
    assert (
        verdict.reasons[-1] == "smoke: pass rate 99.9% (2499 of 2500) is below the threshold 100%"
    )


def test_failures_within_tolerance_are_go_and_listed() -> None:
    tests = records("performance", passed=9, failed=1)
    verdict = gate.decide(snapshot(*tests))
    assert verdict.go
    assert verdict.tolerated == ("test_performance.py::failed_0",)


def test_a_test_counts_in_each_of_its_categories_and_once_in_the_totals() -> None:
    both = TestRecord("t.py::both", "failed", ("smoke", "security"))
    verdict = gate.decide(snapshot(both))
    assert by_name(verdict)["smoke"].failed == 1
    assert by_name(verdict)["security"].failed == 1
    assert verdict.totals.failed == 1
    assert verdict.reasons == (
        "FAILED t.py::both",
        "smoke: pass rate 0% (0 of 1) is below the threshold 100%",
        "security: pass rate 0% (0 of 1) is below the threshold 100%",
    )


def test_a_critical_failure_is_no_go_whatever_the_rates() -> None:
    tests = (
        *records("performance", passed=99),
        TestRecord("t.py::checkout", "failed", ("performance",), critical=True),
    )
    verdict = gate.decide(snapshot(*tests))
    assert by_name(verdict)["performance"].ok is True
    assert verdict.reasons == ("critical test failed: t.py::checkout",)
    assert verdict.critical_failures == ("t.py::checkout",)


def test_zero_tests_and_only_skipped_tests_are_no_go() -> None:
    message = "no test ran: the gate never passes without tests"
    assert gate.decide(snapshot()).reasons == (message,)
    assert gate.decide(snapshot(*records("smoke", skipped=3))).reasons == (message,)


def test_explicit_threshold_on_a_category_without_tests_is_no_go() -> None:
    verdict = gate.decide(snapshot(*records("smoke", passed=1), explicit=frozenset({"security"})))
    assert verdict.reasons == (
        "security: no test ran, but its threshold of 100% was set explicitly",
    )


def test_min_tests_makes_too_few_tests_a_no_go() -> None:
    verdict = gate.decide(snapshot(*records("smoke", passed=2), min_tests={"smoke": 3}))
    assert verdict.reasons == ("smoke: 2 test(s) ran, at least 3 required",)


def test_other_is_reported_but_gated_only_when_configured() -> None:
    tests = (*records("smoke", passed=1), *records("other", passed=1, failed=1))
    assert gate.decide(snapshot(*tests)).go
    gated = gate.decide(snapshot(*tests, thresholds={**DEFAULT_THRESHOLDS, "other": 80}))
    assert gated.reasons == (
        "FAILED test_other.py::failed_0",
        "other: pass rate 50% (1 of 2) is below the threshold 80%",
    )


def test_only_ungated_tests_is_no_go() -> None:
    verdict = gate.decide(snapshot(*records("other", failed=2)))
    assert verdict.reasons == (
        "FAILED test_other.py::failed_0",
        "FAILED test_other.py::failed_1",
        "no test ran in a gated category (smoke, integration, performance, security, monitoring): "
        "mark tests with a category, or gate them with --staging-gate other=PERCENT",
    )


def test_collected_tests_without_a_result_are_no_go() -> None:
    verdict = gate.decide(snapshot(*records("smoke", passed=2), never_reported=3))
    assert verdict.reasons == ("3 collected test(s) never reported a result",)


def test_non_strict_xpass_counts_as_passed() -> None:
    verdict = gate.decide(snapshot(*records("smoke", xpassed=1)))
    assert by_name(verdict)["smoke"].passed == 1
    assert verdict.go


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"interrupted": True}, "the run was interrupted before it finished"),
        ({"collection_errors": 2}, "2 error(s) during collection: some tests never ran"),
        (
            {"stopped_early": "stopping after 1 failures"},
            "the run stopped early (stopping after 1 failures): not every test ran",
        ),
    ],
)
def test_incomplete_runs_are_no_go(fields: dict[str, object], reason: str) -> None:
    verdict = gate.decide(snapshot(*records("smoke", passed=1), **fields))
    assert verdict.reasons == (reason,)


def test_a_crashed_worker_is_no_go() -> None:
    crashed = TestRecord("t.py::boom", "error", ("smoke",), crashed=True)
    verdict = gate.decide(snapshot(*records("smoke", passed=5), crashed))
    assert "a worker crashed while running t.py::boom" in verdict.reasons


def test_not_ready_is_the_only_reason_when_nothing_ran() -> None:
    verdict = gate.decide(snapshot(not_ready="target not ready: GET /health got no answer"))
    assert verdict.reasons == ("target not ready: GET /health got no answer",)


def test_flaky_tests_are_listed_and_count_as_passed() -> None:
    flaky = TestRecord("t.py::retry", "passed", ("smoke",), flaky=True)
    verdict = gate.decide(snapshot(flaky))
    assert verdict.go
    assert verdict.flaky == ("t.py::retry",)


def flaky(nodeid: str, *categories: str) -> TestRecord:
    """A test that passed only after a retry or rerun."""
    return TestRecord(nodeid, "passed", categories, flaky=True)


def strict_in(*categories: str) -> frozenset[str]:
    """--staging-flaky-fails naming `categories`."""
    return frozenset(categories)


def test_with_flaky_fails_a_flaky_pass_is_a_failure_with_its_own_reason() -> None:
    retried = flaky("t.py::retried", "integration")
    verdict = gate.decide(
        snapshot(retried, *records("smoke", passed=1), flaky_fails=strict_in("integration"))
    )
    assert not verdict.go
    assert verdict.reasons == (
        "integration: pass rate 0% (0 of 1) is below the threshold 95%",
        "integration: 1 flaky test counted as failed (--staging-flaky-fails): t.py::retried",
    )
    integration = by_name(verdict)["integration"]
    assert (integration.passed, integration.failed, integration.status) == (0, 1, "FAIL")
    assert integration.flaky_failed == ("t.py::retried",)
    assert (verdict.totals.passed, verdict.totals.failed) == (1, 1)
    assert verdict.flaky == ("t.py::retried",)
    assert verdict.critical_failures == ()


def test_flaky_fails_counts_only_in_the_categories_it_names() -> None:
    both = flaky("t.py::both", "smoke", "integration")
    verdict = gate.decide(snapshot(both, flaky_fails=strict_in("integration")))
    assert (by_name(verdict)["smoke"].passed, by_name(verdict)["smoke"].failed) == (1, 0)
    assert by_name(verdict)["smoke"].flaky_failed == ()
    assert by_name(verdict)["integration"].failed == 1
    assert verdict.reasons == (
        "integration: pass rate 0% (0 of 1) is below the threshold 95%",
        "integration: 1 flaky test counted as failed (--staging-flaky-fails): t.py::both",
    )


def test_flaky_failures_within_the_tolerance_are_go_and_listed_as_tolerated() -> None:
    retried = [flaky(f"t.py::r{n}", "integration") for n in range(2)]
    verdict = gate.decide(
        snapshot(*retried, *records("integration", passed=38), flaky_fails=strict_in("integration"))
    )
    assert verdict.go
    assert by_name(verdict)["integration"].pass_rate == 95.0
    assert verdict.tolerated == ("t.py::r0", "t.py::r1")
    assert verdict.flaky == ("t.py::r0", "t.py::r1")


def test_several_flaky_failures_share_one_reason_line() -> None:
    retried = [flaky(f"t.py::r{n}", "smoke") for n in range(2)]
    verdict = gate.decide(
        snapshot(*retried, *records("smoke", passed=3), flaky_fails=strict_in("smoke"))
    )
    assert verdict.reasons == (
        "smoke: pass rate 60% (3 of 5) is below the threshold 100%",
        "smoke: 2 flaky tests counted as failed (--staging-flaky-fails): t.py::r0, t.py::r1",
    )


def test_flaky_fails_leaves_steady_passes_and_real_failures_alone() -> None:
    steady = TestRecord("t.py::steady", "passed", ("smoke",))
    failed = TestRecord("t.py::failed", "failed", ("smoke",))
    verdict = gate.decide(snapshot(steady, failed, flaky_fails=strict_in("smoke")))
    smoke = by_name(verdict)["smoke"]
    assert (smoke.passed, smoke.failed, smoke.flaky_failed) == (1, 1, ())
    assert verdict.reasons == (
        "FAILED t.py::failed",
        "smoke: pass rate 50% (1 of 2) is below the threshold 100%",
    )


@pytest.mark.parametrize(
    ("fields", "pytest_status", "expected"),
    [
        ({}, 0, ExitCode.GO),
        ({}, 1, ExitCode.GO),  # failures within tolerance
        ({"interrupted": True}, 2, 2),
        ({"collection_errors": 1}, 2, 2),
        ({"collection_errors": 1}, 1, ExitCode.NO_GO),  # --continue-on-collection-errors
        ({"not_ready": "target not ready"}, 2, ExitCode.NOT_READY),
        ({"min_tests": {"smoke": 5}}, 0, ExitCode.NO_GO),
    ],
)
def test_exit_codes(fields: dict[str, object], pytest_status: int, expected: int) -> None:
    run = snapshot(*records("smoke", passed=1), **fields)
    assert gate.exit_code(gate.decide(run), run, pytest_status) == expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [(100.0, "100%"), (99.99, "100%"), (95.0, "95%"), (33.333, "33.3%"), (100 * 14 / 17, "82.4%")],
)
def test_percent_rounds_half_up_to_one_decimal(value: float, shown: str) -> None:
    assert gate.percent(value) == shown
