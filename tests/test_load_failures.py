"""Failed load requests: the default error-rate limit, and the causes named from locust's
failure table, in the reasons, the load entry of the JSON report and its load line notes.

Against the demo on loopback: a path it does not have (HTTP 404), its `degraded` mode
(/health answers 503) and a closed port (connection refused). Thresholds by hand are in
test_load.py; TLS failures in test_load_tls.py.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inner_run import INNER_RUN_OPTIONS

from pytest_staging.gate import percent

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

Report = dict[str, Any]
SUITES = Path(__file__).resolve().parents[1] / "suites"
NO_ERROR_RATE = """
[load]
users = 2
duration = "2s"
[[load.tasks]]
path = "/api/nothing-here"
"""
DEFAULT_NOTE = "error rate 100% > 0.1% (default)"


def test_a_run_where_every_request_failed_is_no_go_without_an_error_rate(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], demo_url: str
) -> None:
    """Before: `load OK: ... 100.00% failed` and STAGING GATE: GO; now the load line shows the
    default limit and the cause."""
    pytester.makefile(".toml", staging=NO_ERROR_RATE)
    report_path = pytester.path / "gate.json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        str(SUITES / "performance" / "test_load.py"),
        f"--staging-url={demo_url}",
        "--staging-manifest=staging.toml",
        f"--staging-report={report_path}",
    )
    report = read_report(report_path)

    assert result.ret == 1
    assert report["verdict"] == "NO-GO"
    (run,) = report["load"]
    failed = run["failures"]
    assert run["requests"] == failed > 0
    assert run["thresholds"] == {"error_rate": 0.1, "min_requests": 1}
    (check,) = [check for check in run["checks"] if check["metric"] == "error_rate"]
    assert check == {
        "metric": "error_rate",
        "value": 100.0,
        "limit": 0.1,
        "ok": False,
        "default": True,
    }
    assert run["failure_causes"] == [
        {"cause": "HTTP 404", "count": failed, "requests": ["GET /api/nothing-here"]}
    ]
    top = f"top failures: HTTP 404 ({failed}, GET /api/nothing-here)"
    assert run["notes"] == [DEFAULT_NOTE, top]
    assert (
        f"performance: load 1 task(s): 2 users for 2s: failure rate 100% ({failed} of "
        f"{failed}) is above the limit error_rate = 0.1% (the default; set error_rate to allow "
        f"more); {top}"
    ) in report["reasons"]
    result.stdout.fnmatch_lines(
        [f"load FAIL: 1 task(s): 2 users for 2s: * 100% failed, p95 * ms; {DEFAULT_NOTE}; {top}"]
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


FAILING_LOCUSTFILE = """
from locust import FastHttpUser, constant, task


class Mixed(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def health(self):
        self.client.get("/health", name="health")  # 503 in degraded mode

    @task
    def elsewhere(self):
        self.client.get("http://127.0.0.1:{port}/", name="closed port")
"""
USER_TESTS = """
from pathlib import Path

import pytest

pytestmark = pytest.mark.performance


def test_default_limit(staging_load):
    staging_load.run(locustfile=Path(__file__).with_name("failing.py"), users=2, duration="2s")


def test_given_limit(staging_load):
    staging_load.run(tasks=["/health", "/api/items"], users=2, duration="2s", error_rate=100)
"""


def test_staging_load_run_applies_the_default_and_names_each_cause_with_its_count(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], demo_servers: Any
) -> None:
    pytester.makepyfile(
        failing=FAILING_LOCUSTFILE.format(port=closed_port()), test_user_loads=USER_TESTS
    )
    report_path = pytester.path / "gate.json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        f"--staging-url={demo_servers('degraded')}",
        f"--staging-report={report_path}",
    )
    report = read_report(report_path)

    result.assert_outcomes(passed=1, failed=1)
    assert report["verdict"] == "NO-GO"
    runs = {run["nodeid"].partition("::")[2]: run for run in report["load"]}
    default, given = runs["test_default_limit"], runs["test_given_limit"]

    causes = {cause["cause"]: cause for cause in default["failure_causes"]}
    assert set(causes) == {"HTTP 503", "ConnectionRefusedError(111, 'Connection refused')"}
    by_name = {entry["name"]: entry for entry in default["endpoints"]}
    assert causes["HTTP 503"]["count"] == by_name["health"]["failures"] > 0
    refused = causes["ConnectionRefusedError(111, 'Connection refused')"]
    assert refused["count"] == by_name["closed port"]["failures"] > 0
    assert default["failures"] == default["requests"]
    assert default["notes"][0] == DEFAULT_NOTE
    reason = next(r for r in report["reasons"] if r.startswith("performance: load failing.py"))
    assert "error_rate = 0.1% (the default; set error_rate to allow more); top failures: " in reason
    assert f"HTTP 503 ({causes['HTTP 503']['count']}, health)" in reason
    assert f"{refused['cause']} ({refused['count']}, closed port)" in reason

    # An explicit limit lets failures pass, and the load line shows it.
    assert given["ok"] is True
    assert 0 < given["failures"] < given["requests"]
    assert given["failure_causes"][0]["cause"] == "HTTP 503"
    assert given["notes"][0] == f"error rate {percent(given['failure_rate'])} <= 100%"
    assert not [r for r in report["reasons"] if "test_given_limit" in r or "load 2 task" in r]
