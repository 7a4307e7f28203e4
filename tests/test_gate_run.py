"""The gate end to end: pytester runs against a real demo service on loopback.

Known outcomes per category must give exact counts and rates, the same
verdict with and without xdist, and a JSON report that validates, also
after a failing or interrupted run.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS

if TYPE_CHECKING:
    from pathlib import Path

KNOWN_OUTCOMES = """
import pytest

@pytest.mark.smoke
@pytest.mark.parametrize("n", range(4))
def test_smoke(n, staging_client):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.integration
@pytest.mark.parametrize("n", range(20))
def test_integration(n):
    assert n != 0

@pytest.fixture
def broken():
    raise RuntimeError("setup broke")

@pytest.mark.performance
def test_setup_error(broken):
    pass

@pytest.mark.performance
@pytest.mark.parametrize("n", range(9))
def test_performance(n):
    pass

@pytest.mark.security
def test_skipped():
    pytest.skip("not here")

@pytest.mark.security
@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False

@pytest.mark.security
def test_security():
    pass

def test_uncategorised_failure():
    assert False
"""

EXPECTED_CATEGORIES = {
    "smoke": (4, 0, 0, 0, 100.0, "OK"),
    "integration": (19, 1, 0, 0, 95.0, "OK"),
    "performance": (9, 0, 1, 0, 90.0, "OK"),
    "security": (1, 0, 0, 2, 100.0, "OK"),
    "monitoring": (0, 0, 0, 0, None, "not run"),
    "other": (0, 1, 0, 0, 0.0, "not gated"),
}

Run = Callable[..., tuple[pytest.RunResult, dict[str, Any]]]
SMOKE_TEST = "import pytest\n\n@pytest.mark.smoke\ndef test_one():\n    pass\n"


@pytest.fixture
def run_gate(
    pytester: pytest.Pytester, demo_url: str, read_report: Callable[[Path], dict[str, Any]]
) -> Run:
    """Run pytest on the pytester folder against the demo; return the result and the report."""
    report = pytester.path / "gate.json"

    def run(
        *args: str, subprocess: bool = False, url: str = demo_url
    ) -> tuple[pytest.RunResult, dict[str, Any]]:
        options = (
            "-p",
            "no:cacheprovider",
            f"--staging-url={url}",
            f"--staging-report={report}",
            *args,
        )
        result = (
            pytester.runpytest_subprocess(*options) if subprocess else pytester.runpytest(*options)
        )
        return result, read_report(report)

    return run


def category_rows(report: dict[str, Any]) -> dict[str, tuple[object, ...]]:
    return {
        name: (
            c["passed"],
            c["failed"],
            c["errors"],
            c["skipped"] + c["xfailed"],
            c["pass_rate"],
            c["status"],
        )
        for name, c in report["categories"].items()
    }


def test_known_outcomes_give_exact_rates_and_a_go(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(test_known=KNOWN_OUTCOMES)
    result, report = run_gate()
    assert result.ret == 0
    assert category_rows(report) == EXPECTED_CATEGORIES
    assert report["verdict"] == "GO"
    assert sorted(report["tolerated_failures"]) == [
        "test_known.py::test_integration[0]",
        "test_known.py::test_setup_error",
        "test_known.py::test_uncategorised_failure",
    ]
    result.stdout.fnmatch_lines(
        [
            "*staging gate: http://127.0.0.1:* (staging)*",
            "category *passed *failed *errors *skipped *rate *threshold *result",
            "integration * 19 * 1 * 0 * 0 * 95% * 95% * OK",
            "performance * 9 * 0 * 1 * 0 * 90% * 90% * OK",
            "other * 0 * 1 * 0 * 0 * 0% * - * not gated",
            "STAGING GATE: GO",
        ]
    )
    assert result.stdout.lines[-1] == "STAGING GATE: GO"


def test_xdist_gives_the_same_counts_and_verdict(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(test_known=KNOWN_OUTCOMES)
    _, alone = run_gate()
    result, distributed = run_gate("-n", "2", subprocess=True)
    assert result.ret == 0
    assert category_rows(distributed) == category_rows(alone) == EXPECTED_CATEGORIES
    assert distributed["verdict"] == alone["verdict"] == "GO"
    smoke_requests = [t["requests"] for t in distributed["tests"] if "smoke" in t["categories"]]
    assert smoke_requests == [1, 1, 1, 1]


def test_xdist_no_go_matches_the_run_without_it(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.smoke
        @pytest.mark.parametrize("n", range(6))
        def test_smoke(n):
            assert n != 3
        """
    )
    result_alone, alone = run_gate()
    result, distributed = run_gate("-n", "2", subprocess=True)
    assert result_alone.ret == result.ret == 1
    assert (
        alone["reasons"]
        == distributed["reasons"]
        == [
            "FAILED test_xdist_no_go_matches_the_run_without_it.py::test_smoke[3]: assert 3 != 3",
            "smoke: pass rate 83.3% (5 of 6) is below the threshold 100%",
        ]
    )


def test_strict_xpass_is_a_failure(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.smoke
        @pytest.mark.xfail(reason="should fail", strict=True)
        def test_unexpectedly_passes():
            pass
        """
    )
    result, report = run_gate()
    assert result.ret == 1
    assert report["categories"]["smoke"]["failed"] == 1
    assert report["reasons"] == [
        "FAILED test_strict_xpass_is_a_failure.py::test_unexpectedly_passes: "
        "[XPASS(strict)] should fail",
        "smoke: pass rate 0% (0 of 1) is below the threshold 100%",
    ]


def test_teardown_error_counts_as_an_error(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.fixture
        def leaky():
            yield
            raise RuntimeError("teardown broke")

        @pytest.mark.smoke
        def test_uses_leaky(leaky):
            pass

        @pytest.mark.smoke
        def test_fine():
            pass
        """
    )
    result, report = run_gate()
    assert result.ret == 1
    smoke = report["categories"]["smoke"]
    assert (smoke["passed"], smoke["errors"], smoke["pass_rate"]) == (1, 1, 50.0)
    assert {t["nodeid"]: t["outcome"] for t in report["tests"]} == {
        "test_teardown_error_counts_as_an_error.py::test_uses_leaky": "error",
        "test_teardown_error_counts_as_an_error.py::test_fine": "passed",
    }


def test_critical_failure_is_no_go_even_within_tolerance(
    pytester: pytest.Pytester, run_gate: Run
) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.performance
        @pytest.mark.parametrize("n", range(19))
        def test_fast(n):
            pass

        @pytest.mark.performance
        @pytest.mark.critical
        def test_checkout_budget():
            assert False
        """
    )
    result, report = run_gate()
    assert result.ret == 1
    assert report["categories"]["performance"]["ok"] is True
    nodeid = "test_critical_failure_is_no_go_even_within_tolerance.py::test_checkout_budget"
    assert report["critical_failures"] == [nodeid]
    assert report["reasons"] == [f"critical test failed: {nodeid}: assert False"]


@pytest.mark.parametrize(
    ("source", "args"),
    [
        ("", ()),
        ("def test_one():\n    pass\n", ("-k", "nothing_matches")),
        ("import pytest\n@pytest.mark.skip\ndef test_one():\n    pass\n", ()),
    ],
    ids=["no-tests", "all-deselected", "all-skipped"],
)
def test_zero_tests_is_no_go(
    pytester: pytest.Pytester, run_gate: Run, source: str, args: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_empty=source)
    result, report = run_gate(*args)
    assert result.ret == 1
    assert report["reasons"] == ["no test ran: the gate never passes without tests"]
    result.stdout.fnmatch_lines(["STAGING GATE: NO-GO", "  - no test ran*"])


def test_collection_error_is_no_go_with_pytests_exit_code(
    pytester: pytest.Pytester, run_gate: Run
) -> None:
    pytester.makepyfile(
        test_fine="def test_fine():\n    pass\n", test_broken="import nonexistent_module\n"
    )
    result, report = run_gate()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert report["verdict"] == "NO-GO"
    assert report["exit_code"] == 2
    assert report["reasons"] == ["1 error(s) during collection: some tests never ran"]


def test_collection_error_under_xdist_is_no_go(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(
        test_fine="def test_fine():\n    pass\n", test_broken="import nonexistent_module\n"
    )
    result, report = run_gate("-n", "2", subprocess=True)
    assert result.ret != 0
    assert report["verdict"] == "NO-GO"
    assert any("collection" in reason for reason in report["reasons"])


def test_interrupted_run_writes_a_no_go_report(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.smoke
        def test_first():
            pass

        @pytest.mark.smoke
        def test_interrupts():
            raise KeyboardInterrupt

        @pytest.mark.smoke
        def test_never_runs():
            pass
        """
    )
    result, report = run_gate(subprocess=True)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert report["interrupted"] is True
    assert report["verdict"] == "NO-GO"
    assert "the run was interrupted before it finished" in report["reasons"]


def test_stopping_at_the_first_failure_is_no_go(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.performance
        @pytest.mark.parametrize("n", range(30))
        def test_many(n):
            assert n != 0
        """
    )
    result, report = run_gate("-x")
    assert result.ret == 1
    assert report["reasons"] == [
        "FAILED test_stopping_at_the_first_failure_is_no_go.py::test_many[0]: assert 0 != 0",
        "the run stopped early (stopping after 1 failures): not every test ran",
        "performance: pass rate 0% (0 of 1) is below the threshold 90%",
    ]


def test_requests_are_timed_into_the_report(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.smoke
        def test_calls(staging_client):
            for _ in range(3):
                staging_client.get("/api/items")
            staging_client.get("/health")
        """
    )
    result, report = run_gate()
    assert result.ret == 0
    assert report["tests"][0]["requests"] == 4
    assert set(report["latency"]) == {"GET /api/items", "GET /health"}
    items = report["latency"]["GET /api/items"]
    assert items["count"] == 3
    assert items["errors"] == 0
    assert 0 < items["p50_ms"] <= items["p95_ms"] <= items["p99_ms"] <= items["max_ms"]
    assert report["audit"]["resolved_address"].startswith("127.0.0.1:")
    assert report["audit"]["deployed_version"] == "1.0.0"


def test_wrong_deployed_version_is_not_ready(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(test_one=SMOKE_TEST)
    result, report = run_gate("--staging-expect-version=2.0.0")
    assert result.ret == 69
    assert report["reasons"] == [
        "target not ready (1 attempt(s)): deployed version '1.0.0' at /version of GET /health, expected '2.0.0'"
    ]
    assert report["tests"] == []
    matching, _ = run_gate("--staging-expect-version=1.0.0")
    assert matching.ret == 0


def test_waiting_on_an_unhealthy_target_ends_not_ready_within_the_deadline(
    pytester: pytest.Pytester, run_gate: Run, demo_servers: Callable[..., str]
) -> None:
    """The wait polls until its deadline and then gives up: the attempts it reports are the
    ones the server counted, more than one. (That the deadline is never overshot is proven
    on a fake clock in test_readiness.py, never against the wall clock here.)"""
    url = demo_servers("degraded")
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    before = _health_requests(url)
    result, report = run_gate("--staging-wait=1.5", url=url)
    counted = _health_requests(url) - before
    assert result.ret == 69
    (reason,) = report["reasons"]
    assert reason.startswith("target not ready after ")
    assert f"({counted} attempt(s)): GET /health answered 503 (expected 200): " in reason
    assert '"database":"unhealthy"' in reason.replace(" ", "")
    shown = [line for line in result.stdout.lines if line.startswith("staging readiness: ")]
    assert len(shown) == counted > 1
    assert all(" of 1.5s: GET /health answered 503 " in line for line in shown)
    result.stdout.fnmatch_lines(
        ["staging readiness: attempt 1 at 0.0s of 1.5s: GET /health answered 503*"]
    )


def _health_requests(url: str) -> int:
    """How many GET /health the demo has answered so far, from its own metrics."""
    import httpx

    metrics = httpx.get(f"{url}/metrics").text
    prefix = 'demo_http_requests_total{method="GET",path="/health",status="503"} '
    line = next((line for line in metrics.splitlines() if line.startswith(prefix)), prefix + "0")
    return int(float(line.removeprefix(prefix)))


def test_not_ready_under_xdist_is_no_go_with_its_own_exit_code(
    pytester: pytest.Pytester, run_gate: Run
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    pytester.makepyfile(test_one="def test_one():\n    pass\n")
    result, report = run_gate("-n", "2", subprocess=True, url=f"http://127.0.0.1:{closed_port}")
    assert result.ret == 69
    assert report["verdict"] == "NO-GO"
    assert "ConnectError" in report["reasons"][0]
    assert result.stdout.lines[-2:] == ["STAGING GATE: NO-GO", f"  - {report['reasons'][0]}"]


def test_a_crashed_xdist_worker_is_no_go(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.smoke
        def test_crashes():
            os._exit(1)

        @pytest.mark.integration
        @pytest.mark.parametrize("n", range(4))
        def test_fine(n):
            pass
        """
    )
    result, report = run_gate("-n", "2", subprocess=True)
    assert result.ret == 1
    assert (
        "a worker crashed while running test_a_crashed_xdist_worker_is_no_go.py::test_crashes"
        in report["reasons"]
    )
    assert report["categories"]["integration"]["passed"] == 4


def test_a_test_failing_on_one_xdist_worker_of_dist_each_is_no_go(
    pytester: pytest.Pytester, run_gate: Run
) -> None:
    pytester.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.smoke
        def test_depends_on_worker():
            assert os.environ["PYTEST_XDIST_WORKER"] != "gw0"
        """
    )
    result, report = run_gate("-n", "2", "--dist", "each", subprocess=True)
    assert result.ret == 1
    assert report["categories"]["smoke"]["passed"] == 1
    assert report["categories"]["smoke"]["failed"] == 1


def test_pytest_exit_in_the_middle_of_a_run_is_no_go(
    pytester: pytest.Pytester, run_gate: Run
) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def stops_the_run():
            yield
            pytest.exit("stop here", returncode=0)

        @pytest.mark.smoke
        def test_first(stops_the_run):
            pass

        @pytest.mark.smoke
        def test_never_runs():
            assert False
        """
    )
    result, report = run_gate()
    assert result.ret == 1
    assert report["interrupted"] is True
    assert report["reasons"] == ["the run was interrupted before it finished"]


def test_an_internal_error_is_no_go(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makeconftest(
        """
        def pytest_runtest_logfinish(nodeid, location):
            raise RuntimeError("a plugin broke")
        """
    )
    pytester.makepyfile(test_one=SMOKE_TEST)
    result, report = run_gate(subprocess=True)
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    assert report["verdict"] == "NO-GO"
    assert report["interrupted"] is True


def test_no_other_plugin_can_turn_a_no_go_into_exit_0(
    pytester: pytest.Pytester, run_gate: Run
) -> None:
    pytester.makeconftest(
        """
        def pytest_sessionfinish(session, exitstatus):
            if exitstatus == 5:
                session.exitstatus = 0
        """
    )
    pytester.makepyfile(test_none="")
    result, report = run_gate()
    assert report["verdict"] == "NO-GO"
    assert result.ret == 1


def test_a_killed_run_leaves_a_no_go_report_not_a_stale_go(
    pytester: pytest.Pytester, run_gate: Run
) -> None:
    pytester.makepyfile(test_one=SMOKE_TEST)
    _, first = run_gate()
    assert first["verdict"] == "GO"
    pytester.makepyfile(
        test_one="""
        import os, signal
        import pytest

        @pytest.mark.smoke
        def test_killed():
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result, report = run_gate(subprocess=True)
    assert result.ret == -9
    assert report["verdict"] == "NO-GO"
    assert report["reasons"] == [
        "the run did not finish: it was stopped before the gate could decide"
    ]


def test_only_unmarked_tests_is_no_go(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(test_plain="def test_fails():\n    assert False\n")
    result, report = run_gate()
    assert result.ret == 1
    assert report["reasons"] == [
        "FAILED test_plain.py::test_fails: assert False",
        "no test ran in a gated category (smoke, integration, performance, security, "
        "monitoring): mark tests with a category, or gate them with --staging-gate other=PERCENT",
    ]


@pytest.mark.parametrize("mode", ["--setup-only", "--setup-plan", "--collect-only"])
def test_runs_that_execute_no_test_body_have_no_gate(
    pytester: pytest.Pytester, demo_url: str, mode: str
) -> None:
    pytester.makepyfile(test_one=SMOKE_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}", mode)
    assert result.ret == 0
    assert "STAGING GATE" not in result.stdout.str()


FLAKY_ITEMS = """
import pytest

@pytest.mark.smoke
def test_items(staging_client):
    for _ in range(8):
        assert staging_client.get("/api/items").status_code == 200
"""
"""Against a fresh demo whose every 4th /api request answers 500 (retried here): 8 answers
take 10 attempts, 2 of them failed."""
RETRY_500 = "--staging-retry-on=500,502,503,504"


def test_retries_do_not_hide_failed_requests_from_max_error_rate(
    pytester: pytest.Pytester, run_gate: Run, demo_servers: Callable[..., str]
) -> None:
    pytester.makepyfile(test_flaky=FLAKY_ITEMS)
    fresh = {"mode": "flaky", "flaky_every": 4}  # each server counts its /api requests

    tolerated, report = run_gate(RETRY_500, url=demo_servers(**fresh, version="1.0.1"))
    limited, limited_report = run_gate(
        RETRY_500, "--staging-max-error-rate=10", url=demo_servers(**fresh, version="1.0.2")
    )

    assert tolerated.ret == 0
    assert report["requests"] == {
        "total": 10,
        "failed": 2,
        "error_rate": 20.0,
        "max_error_rate": None,
    }
    assert limited.ret == 1
    assert limited_report["requests"]["max_error_rate"] == 10.0
    assert limited_report["reasons"] == [
        "error rate 20% (2 of 10 requests, retries included, got no answer or a status >= 500) "
        "is above max_error_rate 10%"
    ]
    limited.stdout.fnmatch_lines(
        [
            "total *",
            "error rate 20% (2 of 10 requests failed), max_error_rate 10%: FAIL",
            "STAGING GATE: NO-GO",
        ]
    )
