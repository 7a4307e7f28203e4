"""The gate's error-rate rule: the failed share of ALL the run's requests, every attempt counted,
so a retry that rescued a test cannot hide the 503 it met from the checklists' "error rate
< 0.1 %". Off unless `[gates] max_error_rate` / `--staging-max-error-rate` sets it.

The rule itself on snapshots built by hand; then the plugin end to end against a small scripted
server on loopback (stdlib only, defined here) that answers 503 where told and counts every
request it receives. Which requests are retried is in test_retries.py; what a reason looks like
in general in test_gate_reasons.py.
"""

from __future__ import annotations

import threading
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS

from pytest_staging import gate
from pytest_staging.gate import BUILTIN_CATEGORIES, DEFAULT_THRESHOLDS, RunSnapshot, TestRecord
from pytest_staging.phase_log import failed
from pytest_staging.run.test_records import RecordCollector

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

Report = dict[str, Any]


def snapshot(**fields: Any) -> RunSnapshot:
    tests = (TestRecord("t.py::ok", "passed", ("smoke",)),)
    return RunSnapshot(
        tests=tests, thresholds=dict(DEFAULT_THRESHOLDS), categories=BUILTIN_CATEGORIES, **fields
    )


# --- the rule -------------------------------------------------------------------------------


def test_the_rule_is_off_by_default_but_the_rate_is_always_known() -> None:
    verdict = gate.decide(snapshot(requests=10, failed_requests=10))
    assert (verdict.go, verdict.error_rate) == (True, 100.0)


def test_a_rate_above_the_limit_is_no_go_naming_rate_counts_and_limit() -> None:
    verdict = gate.decide(snapshot(requests=12000, failed_requests=13, max_error_rate=0.1))
    assert verdict.reasons == (
        "error rate 0.11% (13 of 12000 requests, retries included, got no answer or a "
        "status >= 500) is above max_error_rate 0.1%",
    )
    assert verdict.error_rate == pytest.approx(100 * 13 / 12000)


def test_a_rate_at_the_limit_goes() -> None:
    assert gate.decide(snapshot(requests=12000, failed_requests=12, max_error_rate=0.1)).go


def test_a_zero_limit_allows_no_failed_request() -> None:
    assert not gate.decide(snapshot(requests=5000, failed_requests=1, max_error_rate=0)).go
    assert gate.decide(snapshot(requests=5000, failed_requests=0, max_error_rate=0)).go


def test_without_requests_there_is_no_rate_and_no_objection() -> None:
    verdict = gate.decide(snapshot(max_error_rate=0.1))
    assert (verdict.go, verdict.error_rate) == (True, None)


@pytest.mark.parametrize(
    ("status", "counts"), [(None, True), (599, True), (500, True), (499, False), (200, False)]
)
def test_failed_means_no_answer_or_a_status_of_500_or_more(
    status: int | None, counts: bool
) -> None:
    assert failed(status) is counts


def test_the_collector_counts_every_attempt_of_every_phase() -> None:
    collector = RecordCollector()
    for when, statuses in (("setup", (503, 200)), ("call", (None, 404, 500))):
        report = pytest.TestReport("t.py::x", ("t.py", 0, "x"), {}, "passed", None, when, [])
        requests = [
            {"method": "GET", "path": "/x", "status": status, "duration_ms": 1.0, "error": None}
            for status in statuses
        ]
        report.pytest_staging = {"v": 2, "requests": requests}  # type: ignore[attr-defined]
        collector.add(report)
    assert collector.request_totals() == (5, 3)


# --- end to end: a retried 503 still counts -------------------------------------------------

SCRIPTS = {"/health": ["200"], "/ok": ["200"], "/once-503": ["503", "200"]}
"""Per path, the statuses in order; the last one repeats."""


class _Handler(BaseHTTPRequestHandler):
    server: CountingServer

    def do_GET(self) -> None:
        steps = SCRIPTS.get(self.path, ["404"])
        status = int(steps[min(self.server.count(self.path), len(steps) - 1)])
        body = f"answer {status}".encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class CountingServer(ThreadingHTTPServer):
    """Answers from `SCRIPTS` and counts every request per path."""

    daemon_threads = False  # server_close joins the request threads

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, path: str) -> int:
        """How many requests `path` had before this one; counts this one."""
        with self._lock:
            before = self.seen[path]
            self.seen[path] += 1
        return before

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


@contextmanager
def serving() -> Iterator[CountingServer]:
    server = CountingServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def server() -> Iterator[CountingServer]:
    with serving() as running:
        yield running


RESCUED = """
import pytest

@pytest.mark.smoke
def test_health(staging_client):
    for _ in range(8):
        assert staging_client.get("/ok").status_code == 200

@pytest.mark.integration
def test_rescued(staging_client):
    assert staging_client.get("/once-503").status_code == 200
"""
RATE_REASON = (
    "error rate 10% (1 of 10 requests, retries included, got no answer or a status >= 500) "
    "is above max_error_rate {limit}"
)


def gated_run(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    server: CountingServer,
    *args: str,
    subprocess: bool = False,
) -> tuple[pytest.RunResult, Report]:
    server.seen.clear()
    options = (*INNER_RUN_OPTIONS, f"--staging-url={server.url}", "--staging-report=gate.json")
    if subprocess:
        result = pytester.runpytest_subprocess(*options, *args, timeout=120)
    else:
        result = pytester.runpytest(*options, *args)
    return result, read_report(pytester.path / "gate.json")


def test_a_503_a_retry_rescued_counts_against_the_manifests_max_error_rate(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], server: CountingServer
) -> None:
    pytester.makepyfile(test_rescued=RESCUED)
    pytester.makefile(".toml", staging="[gates]\nmax_error_rate = 5\n")
    result, report = gated_run(pytester, read_report, server)
    assert (server.seen["/ok"], server.seen["/once-503"]) == (8, 2)  # and readiness's /health
    assert report["categories"]["integration"]["passed"] == 1  # the retry rescued the test
    assert report["flaky"] == ["test_rescued.py::test_rescued"]
    assert (result.ret, report["verdict"]) == (1, "NO-GO")
    assert report["reasons"] == [RATE_REASON.format(limit="5%")]
    result.stdout.fnmatch_lines(["STAGING GATE: NO-GO", f"  - {RATE_REASON.format(limit='5%')}"])


def test_under_xdist_the_requests_of_every_worker_count(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], server: CountingServer
) -> None:
    pytester.makepyfile(test_rescued=RESCUED)
    pytester.makefile(".toml", staging="[gates]\nmax_error_rate = 5\n")
    result, report = gated_run(pytester, read_report, server, "-n", "2", subprocess=True)
    assert (result.ret, report["reasons"]) == (1, [RATE_REASON.format(limit="5%")])
    assert report["flaky"] == ["test_rescued.py::test_rescued"]


def test_the_option_overrides_the_manifest_and_a_rate_at_the_limit_goes(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], server: CountingServer
) -> None:
    pytester.makepyfile(test_rescued=RESCUED)
    pytester.makefile(".toml", staging="[gates]\nmax_error_rate = 5\n")
    result, report = gated_run(pytester, read_report, server, "--staging-max-error-rate=10")
    assert (result.ret, report["verdict"], report["reasons"]) == (0, "GO", [])
    result, report = gated_run(pytester, read_report, server, "--staging-max-error-rate=9.9")
    assert report["reasons"] == [RATE_REASON.format(limit="9.9%")]


def test_without_a_limit_the_same_run_goes(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], server: CountingServer
) -> None:
    pytester.makepyfile(test_rescued=RESCUED)
    result, report = gated_run(pytester, read_report, server)
    assert (result.ret, report["verdict"], report["reasons"]) == (0, "GO", [])
    assert (server.seen["/ok"], server.seen["/once-503"]) == (8, 2)
