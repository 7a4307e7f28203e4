"""Faults of a real target, each against a loopback server that misbehaves on purpose.

Each test runs pytest on a small module of tests (with `staging_client` and the assertion
helpers) against a server from `fault_servers.py`, and checks the exit code, the verdict, the
reasons and that the JSON report exists and validates; then what the fault must not do: hang
the run, blow up memory or an excerpt, leak a credential to another host, or end in a GO.

Already proven in `test_gate_run.py` and not repeated here: a closed port under xdist is
exit 69 with a ConnectError reason; a crash in a smoke test under `-n 2` is listed as a
reason; a `KeyboardInterrupt` raised by a test and a SIGKILL leave a NO-GO report. Here:
the exact reasons, a crash that is the only reason, and real SIGINT / SIGTERM by pid.

Inner runs use `--staging-timeout=1`; the whole file takes about 15 s with `-n 2`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

import pytest
from fault_servers import HUGE_BYTES, Script, refusing_port, serve_faults
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.settings.resolution import StagingSettings

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

Report = dict[str, Any]
GateRun = Callable[..., tuple[pytest.RunResult, Report]]

CHILD_TIMEOUT_S = 60.0
HEALTH_TESTS = """
import pytest
from pytest_staging.assertions import assert_status

@pytest.mark.smoke
def test_health(staging_client):
    assert_status(staging_client.get("/health"), 200)
"""
REFUSED_ADVICE = "is the service running, is --staging-url right?"
REFUSED = rf"ConnectError: connection refused by 127\.0\.0\.1:\d+: {re.escape(REFUSED_ADVICE)}"
INTERRUPTED = "the run was interrupted before it finished"
AROUND_1S = r"(?:0\.9|1\.\d)"  # a 1 s wait ends once less than 75 ms are left


@pytest.fixture
def gate_run(pytester: pytest.Pytester, read_report: Callable[[Path], Report]) -> GateRun:
    """Run pytest in-process against `url` with a 1 s request timeout; the result and the
    report, which must exist and validate against the shipped schema."""

    def run(url: str, *args: str) -> tuple[pytest.RunResult, Report]:
        result = pytester.runpytest(
            *INNER_RUN_OPTIONS,
            f"--staging-url={url}",
            "--staging-report=gate.json",
            "--staging-timeout=1",
            *args,
        )
        return result, read_report(pytester.path / "gate.json")

    return run


@contextmanager
def child_pytest(
    pytester: pytest.Pytester, url: str, *args: str
) -> Iterator[subprocess.Popen[str]]:
    """pytest as a real child process against `url`, its output unbuffered on a pipe;
    killed (by its own pid) if still running when the block ends."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            *INNER_RUN_OPTIONS,
            f"--staging-url={url}",
            "--staging-report=gate.json",
            *args,
        ],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate()


def outcomes(report: Report) -> dict[str, str]:
    """Test name (after the `::`) -> outcome, from the report."""
    return {test["nodeid"].split("::", 1)[1]: test["outcome"] for test in report["tests"]}


def assert_verdict(
    result: pytest.RunResult | int, report: Report, exit_code: int, reasons: list[str]
) -> None:
    """The exit code, the verdict and the exact reasons, in the report and the terminal."""
    ret = result if isinstance(result, int) else result.ret
    assert (ret, report["exit_code"]) == (exit_code, exit_code)
    assert report["verdict"] == ("GO" if exit_code == 0 else "NO-GO")
    assert report["reasons"] == reasons
    if not isinstance(result, int):
        verdict = "STAGING GATE: GO" if exit_code == 0 else "STAGING GATE: NO-GO"
        assert result.stdout.lines[-1 - len(reasons) :] == [
            verdict,
            *(f"  - {reason}" for reason in reasons),
        ]


def failed_tests(report: Report, *causes: tuple[str, str]) -> list[str]:
    """The reasons that lead: each failed test of the inner module with its one-line cause."""
    module = report["tests"][0]["nodeid"].split("::", 1)[0]
    return [f"FAILED {module}::{test}: {cause}" for test, cause in causes]


# --- the target down at start, and dying in the middle of the run ----------------------------


@pytest.mark.parametrize(
    ("wait", "expected"),
    [
        ("0", rf"target not ready \(1 attempt\(s\)\): GET /health got no answer \({REFUSED}\)"),
        ("1", rf"target not ready after {AROUND_1S} s \((\d+) attempt\(s\)\): GET /health got no answer \({REFUSED}\)"),
    ],
    ids=["no-wait", "wait-1s"],
)  # fmt: skip
def test_a_target_down_at_start_is_not_ready_and_runs_no_test(
    pytester: pytest.Pytester, gate_run: GateRun, wait: str, expected: str
) -> None:
    pytester.makepyfile(HEALTH_TESTS)
    with refusing_port() as url:
        result, report = gate_run(url, f"--staging-wait={wait}")
    (reason,) = report["reasons"]
    match = re.fullmatch(expected, reason)
    assert match, reason
    assert_verdict(result, report, 69, [reason])
    readiness = report["audit"]["readiness"]
    assert (readiness["ready"], readiness["last_status"], readiness["reason"]) == (
        False,
        None,
        reason,
    )
    if wait == "0":
        assert readiness["attempts"] == 1
    else:
        assert readiness["attempts"] == int(match[1]) >= 3  # 0.25 s, 0.5 s, then the deadline
        assert report["duration_s"] < 5  # loose: the reason's own "after" is the exact check
    assert report["tests"] == []
    result.stdout.fnmatch_lines(["*no tests ran*"])


def test_a_target_that_comes_up_during_the_wait_is_go(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report]
) -> None:
    """The server starts listening only once the run has shown a refused first attempt."""
    pytester.makepyfile(HEALTH_TESTS)
    with (
        serve_faults(listening=False) as server,
        child_pytest(pytester, server.url, "--staging-wait=10") as child,
    ):
        first_attempt = (
            "staging readiness: attempt 1 at 0.0s of 10s: GET /health got no answer "
            f"(ConnectError: connection refused by 127.0.0.1:{server.port}: {REFUSED_ADVICE})"
        )
        assert child.stdout is not None
        shown = []
        for line in child.stdout:
            shown.append(line.rstrip("\n"))
            if line.startswith("staging readiness: attempt 1 "):
                server.listen()
                break
        rest, _ = child.communicate(timeout=CHILD_TIMEOUT_S)
    output = [*shown, *rest.splitlines()]
    report = read_report(pytester.path / "gate.json")
    assert_verdict(child.returncode, report, 0, [])
    assert output[-1] == "STAGING GATE: GO"
    assert first_attempt in output
    readiness = report["audit"]["readiness"]
    assert (readiness["ready"], readiness["last_status"]) == (True, 200)
    assert readiness["attempts"] >= 2
    assert re.fullmatch(
        rf"staging readiness: attempt {readiness['attempts']} at \d+\.\ds of 10s: GET /health answered 200: ready",
        output[output.index(first_attempt) + readiness["attempts"] - 1],
    )
    assert report["duration_s"] < 10


def test_a_target_dying_mid_run_fails_every_later_test_with_connection_refused(
    pytester: pytest.Pytester, gate_run: GateRun
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_staging.assertions import assert_status

        @pytest.mark.smoke
        @pytest.mark.parametrize("n", range(4))
        def test_health(n, staging_client):
            assert_status(staging_client.get("/health"), 200)
        """
    )
    # request 1 is the readiness probe; the server stops listening at request 3 (test 1)
    with serve_faults(Script(die_after=3)) as server:
        result, report = gate_run(server.url)
    assert server.count("/health") == 3
    refused = f"GET /health: connection refused by 127.0.0.1:{server.port}: is the service running, is --staging-url right?"
    assert_verdict(
        result,
        report,
        1,
        [
            *failed_tests(
                report,
                ("test_health[2]", f"httpx.ConnectError: {refused}"),
                ("test_health[3]", f"httpx.ConnectError: {refused}"),
            ),
            "smoke: pass rate 50% (2 of 4) is below the threshold 100%",
        ],
    )
    assert list(outcomes(report).values()) == ["passed", "passed", "failed", "failed"]
    health = report["latency"]["GET /health"]
    assert health["count"] - health["errors"] == 2  # every refused attempt (retries too) an error
    assert result.stdout.lines.count(refused) == 2  # each failure in one line, no traceback


# --- slow answers: a hang, a drip ---------------------------------------------------------------


HANG_BETWEEN_TWO = """
import pytest
from pytest_staging.assertions import assert_status

@pytest.mark.smoke
def test_before(staging_client):
    assert_status(staging_client.get("/health"), 200)

@pytest.mark.smoke
def test_hangs(staging_client):
    assert_status(staging_client.get("/hang"), 200)

@pytest.mark.smoke
def test_after(staging_client):
    assert_status(staging_client.get("/health"), 200)
"""


def hang_reasons(report: Report) -> list[str]:
    """What a run of `HANG_BETWEEN_TWO` gives: the timeout, then the rate."""
    return [
        *failed_tests(
            report,
            (
                "test_hangs",
                "httpx.ReadTimeout: GET /hang: no answer within 1 s (read timeout, --staging-timeout)",
            ),
        ),
        "smoke: pass rate 66.7% (2 of 3) is below the threshold 100%",
    ]


def test_a_hanging_endpoint_times_out_and_the_other_tests_still_run(
    pytester: pytest.Pytester, gate_run: GateRun
) -> None:
    pytester.makepyfile(HANG_BETWEEN_TWO)
    started = time.monotonic()
    with serve_faults() as server:
        result, report = gate_run(server.url)
    assert time.monotonic() - started < 30  # the 1 s timeout, not the server's 30 s hang
    assert_verdict(result, report, 1, hang_reasons(report))
    assert outcomes(report) == {
        "test_before": "passed",
        "test_hangs": "failed",
        "test_after": "passed",
    }
    hang = report["latency"]["GET /hang"]
    assert (hang["count"], hang["errors"]) == (1, 1)
    assert 900 <= hang["max_ms"] < 10_000
    (hung,) = [test for test in report["tests"] if test["nodeid"].endswith("::test_hangs")]
    assert hung["requests"] == 1
    assert 0.9 <= hung["duration_s"] < 10
    result.stdout.fnmatch_lines(
        [
            "*_ test_hangs _*",
            "GET /hang: no answer within 1 s (read timeout, --staging-timeout)",
            "=* short test summary info =*",
        ]
    )


def test_a_timeout_message_names_the_request_and_the_timeout(
    pytester: pytest.Pytester, gate_run: GateRun
) -> None:
    """Where only the message is shown (JUnit's `message`, `--tb=line`, the short summary),
    it must still say which request got no answer, and within how long."""
    pytester.makepyfile(HANG_BETWEEN_TWO)
    with serve_faults() as server:
        result, report = gate_run(server.url, "--junitxml=junit.xml", "--tb=line")
    assert_verdict(result, report, 1, hang_reasons(report))
    junit = ElementTree.parse(pytester.path / "junit.xml")
    (failure,) = junit.getroot().iter("failure")
    message = failure.get("message", "")
    assert message.startswith("httpx.ReadTimeout: ")
    assert "GET /hang" in message, message
    assert re.search(r"\b1(?:\.0+)? ?s\b", message), message  # the timeout it waited
    result.stdout.fnmatch_lines(["*ReadTimeout*GET /hang*"])


def test_a_dripping_body_is_read_whole_and_timed_whole(
    pytester: pytest.Pytester, gate_run: GateRun
) -> None:
    """The timeout bounds each read, not the request: 12 bytes, one every 0.15 s, take
    1.65 s against a 1 s timeout, pass, and the latency counts until the last byte."""
    pytester.makepyfile(
        """
        import pytest
        from pytest_staging.assertions import assert_status

        @pytest.mark.smoke
        def test_drip(staging_client):
            response = staging_client.get("/drip")
            assert_status(response, 200)
            assert response.content == b"d" * 12
        """
    )
    with serve_faults(Script(drip_bytes=12, drip_interval_s=0.15)) as server:
        result, report = gate_run(server.url)
    assert_verdict(result, report, 0, [])
    drip = report["latency"]["GET /drip"]
    assert (drip["count"], drip["errors"]) == (1, 0)
    assert 1500 <= drip["max_ms"] < 10_000


def test_a_dripping_health_endpoint_cannot_stretch_the_wait(
    pytester: pytest.Pytester, gate_run: GateRun
) -> None:
    """A health body of 100 bytes dripped over 10 s: readiness gives up at its 1 s deadline
    (headers dripped: test_deadlines.py)."""
    pytester.makepyfile(HEALTH_TESTS)
    with serve_faults(Script(health_drip=True, drip_bytes=100, drip_interval_s=0.1)) as server:
        result, report = gate_run(server.url, "--staging-wait=1")
    (reason,) = report["reasons"]
    assert re.fullmatch(
        rf"target not ready after {AROUND_1S} s \(1 attempt\(s\)\): GET /health got no answer "
        r"\(ReadTimeout: no complete answer within 1 s \(the attempt's time: "
        r"--staging-timeout, within --staging-wait\)\)",
        reason,
    ), reason
    assert_verdict(result, report, 69, [reason])
    assert report["tests"] == []
    assert report["duration_s"] < 8  # loose, against the 10 s of the whole drip


# --- bad bodies: malformed JSON, 50 MB ----------------------------------------------------------


def test_malformed_json_fails_its_test_with_the_body_shown(
    pytester: pytest.Pytester, gate_run: GateRun
) -> None:
    pytester.makepyfile(
        HEALTH_TESTS
        + """
from pytest_staging.assertions import json_body

@pytest.mark.smoke
def test_malformed(staging_client):
    json_body(staging_client.get("/malformed"))
"""
    )
    with serve_faults() as server:
        result, report = gate_run(server.url)
    malformed = "AssertionError: GET /malformed: expected a JSON body, got application/json"
    assert_verdict(
        result,
        report,
        1,
        [
            *failed_tests(report, ("test_malformed", malformed)),
            "smoke: pass rate 50% (1 of 2) is below the threshold 100%",
        ],
    )
    assert outcomes(report) == {"test_health": "passed", "test_malformed": "failed"}
    result.stdout.fnmatch_lines(
        [
            "E *AssertionError: GET /malformed: expected a JSON body, got application/json",
            'E *body: {"broken":',
        ]
    )


def test_a_malformed_health_document_fails_the_version_check(
    pytester: pytest.Pytester, gate_run: GateRun
) -> None:
    pytester.makepyfile(HEALTH_TESTS)
    with serve_faults(Script(health_malformed=True)) as server:
        result, report = gate_run(server.url, "--staging-expect-version=1.0.0")
    assert_verdict(
        result,
        report,
        69,
        [
            "target not ready (1 attempt(s)): deployed no version at /version of GET /health, expected '1.0.0'"
        ],
    )
    assert report["audit"]["deployed_version"] is None


@dataclass(frozen=True)
class Measured:
    """A pytest child process: its exit code, its output and its peak resident memory."""

    ret: int
    output: str
    peak_rss_mb: float


def run_measured(pytester: pytest.Pytester, *args: str) -> Measured:
    """Run pytest as a child and read its own peak RSS from `wait4` (not the maximum over
    every child this process ever had, as RUSAGE_CHILDREN would give)."""
    log = pytester.path / "child-output.txt"
    with log.open("wb") as sink:
        child = subprocess.Popen(
            [sys.executable, "-m", "pytest", *args],
            cwd=pytester.path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        watchdog = threading.Timer(CHILD_TIMEOUT_S, child.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            watchdog.cancel()
        child.returncode = os.waitstatus_to_exitcode(status)
    kilobytes = usage.ru_maxrss  # Linux: kilobytes
    return Measured(child.returncode, log.read_text(encoding="utf-8"), kilobytes / 1024)


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss in kilobytes is Linux's unit")
def test_a_50_mb_body_is_cut_in_every_excerpt_and_memory_stays_bounded(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report]
) -> None:
    pytester.makepyfile(
        HEALTH_TESTS
        + """
from pytest_staging.assertions import assert_envelope

@pytest.mark.smoke
def test_huge(staging_client):
    assert_envelope(staging_client.get("/huge"))
"""
    )
    with serve_faults() as server:
        options = (
            *INNER_RUN_OPTIONS,
            f"--staging-url={server.url}",
            "--staging-report=gate.json",
            "--staging-timeout=5",
            "--html=report.html",
        )
        baseline = run_measured(pytester, *options, "-k", "test_health")
        measured = run_measured(pytester, *options)
    assert server.count("/huge") == 1
    report = read_report(pytester.path / "gate.json")
    huge = "AssertionError: GET /huge: expected a JSON body, got application/json"
    assert_verdict(
        measured.ret,
        report,
        1,
        [
            *failed_tests(report, ("test_huge", huge)),
            "smoke: pass rate 50% (1 of 2) is below the threshold 100%",
        ],
    )
    assert outcomes(report) == {"test_health": "passed", "test_huge": "failed"}
    assert baseline.ret == 0
    # terminal: the message and a 500-character excerpt, never the body
    assert "AssertionError: GET /huge: expected a JSON body, got application/json" in (
        measured.output
    )
    assert f"x… ({HUGE_BYTES} bytes in all)" in measured.output
    assert "x" * 501 not in measured.output
    assert max(len(line) for line in measured.output.splitlines()) < 1000
    # JSON report: small per test, small in all
    assert all(len(json.dumps(test)) < 5 * 1024 for test in report["tests"])
    assert (pytester.path / "gate.json").stat().st_size < 64 * 1024
    # HTML report: the last answer's excerpt of 2000 characters, never more
    html = (pytester.path / "report.html").read_text(encoding="utf-8")
    # (pytest-html keeps each row's data as JSON in the page, so "…" may be "\\u2026" there)
    assert re.search(rf"(?<!x)x{{2000}}(…|\\u2026) \({HUGE_BYTES} bytes in all\)", html)
    assert "x" * 2001 not in html
    assert len(html) < 1024 * 1024
    # memory: the 50 MB body may be held once or twice, not more (a loose bound)
    grown = measured.peak_rss_mb - baseline.peak_rss_mb
    assert grown < 200, (
        f"peak RSS {measured.peak_rss_mb:.0f} MB, {grown:.0f} MB above the run without it"
    )


# --- 5xx bursts -----------------------------------------------------------------------------------


def test_a_5xx_burst_during_the_wait_ends_ready_and_go(
    pytester: pytest.Pytester, gate_run: GateRun
) -> None:
    pytester.makepyfile(HEALTH_TESTS)
    with serve_faults(Script(health_failures=2)) as server:
        result, report = gate_run(server.url, "--staging-wait=10")
    assert_verdict(result, report, 0, [])
    readiness = report["audit"]["readiness"]
    assert (readiness["ready"], readiness["attempts"], readiness["last_status"]) == (True, 3, 200)
    assert server.count("/health") == 4  # three probes, one test
    result.stdout.fnmatch_lines(
        [
            'staging readiness: attempt 1 at 0.0s of 10s: GET /health answered 503 (expected 200): {"status": "starting", "version": "1.0.0"}',
            "staging readiness: attempt 2 at 0.*s of 10s: GET /health answered 503 (expected 200): *",
            "staging readiness: attempt 3 at *s of 10s: GET /health answered 200: ready",
        ]
    )


BURST_TESTS = """
import pytest
from pytest_staging.assertions import assert_status

@pytest.mark.smoke
@pytest.mark.parametrize("n", range(8))
def test_burst(n, staging_client):
    assert_status(staging_client.get("/burst"), 200)
"""


def test_a_5xx_burst_during_the_tests_fails_the_tests_it_hit(
    pytester: pytest.Pytester, gate_run: GateRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With retries off, each 503 of the burst reaches a test and fails it."""
    monkeypatch.setenv("PYTEST_STAGING_RETRIES", "0")  # ignored by a build without retries
    pytester.makepyfile(BURST_TESTS)
    with serve_faults(Script(burst=3)) as server:
        result, report = gate_run(server.url)
    busy = "AssertionError: GET /burst: expected status 200, got 503"
    assert_verdict(
        result,
        report,
        1,
        [
            *failed_tests(report, *((f"test_burst[{n}]", busy) for n in range(3))),
            "smoke: pass rate 62.5% (5 of 8) is below the threshold 100%",
        ],
    )
    assert list(outcomes(report).values()) == ["failed"] * 3 + ["passed"] * 5
    burst = report["latency"]["GET /burst"]
    assert (burst["count"], burst["errors"]) == (8, 3)
    assert server.count("/burst") == 8
    failures = [line.split(maxsplit=1)[1] for line in result.stdout.lines if line.startswith("E ")]
    assert (
        failures
        == [
            "AssertionError: GET /burst: expected status 200, got 503",
            'body: {"detail": "busy"}',
        ]
        * 3
    )
    assert report["flaky"] == []


@pytest.mark.skipif(
    "retries" not in {field.name for field in dataclasses.fields(StagingSettings)},
    reason="this build has no client retries (--staging-retries) yet",
)
def test_a_5xx_burst_the_retries_absorb_is_go_with_the_test_flaky(
    pytester: pytest.Pytester, gate_run: GateRun
) -> None:
    """With the default retries, a single 503 is retried: the test passes, but is flaky, and
    the failed attempt stays in the latency table."""
    pytester.makepyfile(BURST_TESTS)
    with serve_faults(Script(burst=1)) as server:
        result, report = gate_run(server.url)
    assert_verdict(result, report, 0, [])
    assert set(outcomes(report).values()) == {"passed"}
    assert report["flaky"] == [
        "test_a_5xx_burst_the_retries_absorb_is_go_with_the_test_flaky.py::test_burst[0]"
    ]
    burst = report["latency"]["GET /burst"]
    assert (burst["count"], burst["errors"]) == (9, 1)
    assert server.count("/burst") == 9


# --- a redirect to another host -----------------------------------------------------------------

REDIRECT_TEST = """
import pytest
from pytest_staging.assertions import assert_status, json_body

@pytest.mark.smoke
def test_follows(staging_client):
    response = staging_client.get("/redirect-away", follow_redirects=True)
    assert_status(response, 200)
    assert json_body(response) == {"landed": True}
"""


@pytest.mark.parametrize(
    "secret_kind",
    [
        "token",
        "url-credentials",
        "header",
    ],
)
def test_a_redirect_to_another_host_does_not_carry_the_credentials(
    pytester: pytest.Pytester, gate_run: GateRun, secret_kind: str
) -> None:
    secret = os.urandom(12).hex()
    basic = base64.b64encode(f"deployer:{secret}".encode()).decode()
    header, value, args = {
        "token": ("authorization", f"Bearer {secret}", (f"--staging-token={secret}",)),
        "url-credentials": ("authorization", f"Basic {basic}", ()),
        "header": ("x-api-key", secret, ("--staging-header", f"X-Api-Key: {secret}")),
    }[secret_kind]
    pytester.makepyfile(REDIRECT_TEST)
    with serve_faults() as other_host:
        landing = f"http://localhost:{other_host.port}/landing"  # another host name and port
        with serve_faults(Script(redirect_to=landing)) as origin:
            url = origin.url
            if secret_kind == "url-credentials":
                url = url.replace("http://", f"http://deployer:{secret}@")
            result, report = gate_run(url, *args)
    assert_verdict(result, report, 0, [])
    assert secret not in (pytester.path / "gate.json").read_text(encoding="utf-8")
    (sent,) = [seen for seen in origin.requests if seen.path == "/redirect-away"]
    assert sent.header(header) == value  # the target itself did get the credential
    (landed,) = other_host.requests
    assert landed.path == "/landing"  # the redirect was followed to the other host
    leaked = [name for name, got in landed.headers if secret in got or basic in got]
    assert leaked == [], landed.headers
    assert landed.header("authorization") is None


# --- an xdist worker that crashes ---------------------------------------------------------------


def test_a_worker_crash_in_an_ungated_test_is_still_no_go(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report]
) -> None:
    """The crash alone is the reason: its test is `other` (not gated), the smoke tests pass."""
    pytester.makepyfile(
        test_crash="""
        import os
        import pytest

        def test_crashes(staging_client):
            staging_client.get("/health")
            os._exit(1)

        @pytest.mark.smoke
        @pytest.mark.parametrize("n", range(4))
        def test_fine(n, staging_client):
            assert staging_client.get("/health").status_code == 200
        """
    )
    with serve_faults() as server:
        result = pytester.runpytest_subprocess(
            *INNER_RUN_OPTIONS,
            f"--staging-url={server.url}",
            "--staging-report=gate.json",
            "--staging-timeout=1",
            "-n",
            "2",
            timeout=CHILD_TIMEOUT_S,
        )
    report = read_report(pytester.path / "gate.json")
    assert_verdict(
        result, report, 1, ["a worker crashed while running test_crash.py::test_crashes"]
    )
    assert outcomes(report)["test_crashes"] == "error"
    assert report["categories"]["other"]["errors"] == 1
    assert report["categories"]["smoke"]["passed"] == 4
    assert report["tolerated_failures"] == []


# --- SIGINT and SIGTERM in the middle of a run -----------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_in_the_middle_of_a_run_leaves_a_no_go_report(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    signum: signal.Signals,
) -> None:
    """Ctrl-C, and the SIGTERM a CI system sends to cancel a job, stop the run; every report
    is written NO-GO and interrupted, over the GO an earlier run left.

    The signal goes out when the server has counted the blocking test's request, an event, not
    a time: from then on the inner run waits on the answer however slow the machine is."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.smoke
        def test_first(staging_client):
            assert staging_client.get("/health").status_code == 200

        @pytest.mark.smoke
        def test_blocks(staging_client):
            staging_client.get("/hang", timeout=30)

        @pytest.mark.smoke
        def test_never_runs():
            pass
        """
    )
    gate = pytester.path / "gate.json"
    gate.write_text(json.dumps({"verdict": "GO"}), encoding="utf-8")  # a stale GO from before
    with serve_faults() as server, child_pytest(pytester, server.url) as child:
        reached = server.wait_for("/hang", timeout=CHILD_TIMEOUT_S)
        assert reached, "the inner run never reached /hang"
        assert child.poll() is None, "the inner run ended while its blocking test waited"
        os.kill(child.pid, signum)
        text, _ = child.communicate(timeout=CHILD_TIMEOUT_S)
    assert server.count("/hang") == 1
    report = read_report(gate)
    assert child.returncode == 2, text
    assert_verdict(child.returncode, report, 2, [INTERRUPTED])
    assert report["interrupted"] is True
    # The interrupted test is left out, not counted against the deployment.
    assert outcomes(report) == {"test_first": "passed"}
    assert text.splitlines()[-2:] == ["STAGING GATE: NO-GO", f"  - {INTERRUPTED}"]


# --- a gated category whose every test the destructive guard withheld ---------------------------

DESTRUCTIVE_ONLY = """
import pytest
from pytest_staging.assertions import assert_status

@pytest.mark.smoke
def test_reads(staging_client):
    assert_status(staging_client.get("/health"), 200)

@pytest.mark.{category}
@pytest.mark.destructive
@pytest.mark.parametrize("n", range(2))
def test_writes(n):
    pass
"""


@pytest.mark.parametrize(
    ("threshold", "category"),
    [
        ("option", "integration"),
        ("manifest", "integration"),
        ("ini", "payments"),
        ("default", "integration"),
        ("none", "payments"),
    ],
)
def test_a_category_the_destructive_guard_emptied(
    pytester: pytest.Pytester, gate_run: GateRun, threshold: str, category: str
) -> None:
    """Withheld tests show as skipped; an explicit threshold on the emptied category is a
    NO-GO naming it, a default threshold (or none) is not."""
    pytester.makepyfile(DESTRUCTIVE_ONLY.format(category=category))
    args: tuple[str, ...] = ("-rs",)
    if category == "payments":
        gate = "staging_gate = payments=99\n" if threshold == "ini" else ""
        pytester.makeini(f"[pytest]\nstaging_categories = payments\n{gate}")
    if threshold == "option":
        args += ("--staging-gate", "integration=95")
    elif threshold == "manifest":
        pytester.makefile(".toml", staging="[gates]\nintegration = 95\n")
    with serve_faults() as server:
        result, report = gate_run(server.url, *args)
    row = report["categories"][category]
    assert (row["passed"], row["failed"], row["errors"], row["skipped"]) == (0, 0, 0, 2)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]2] *destructive test withheld: it changes data on the target; pass --staging-allow-destructive to run it"
        ]
    )
    if threshold in {"option", "manifest", "ini"}:
        percent = "99%" if threshold == "ini" else "95%"
        assert_verdict(
            result,
            report,
            1,
            [f"{category}: no test ran, but its threshold of {percent} was set explicitly"],
        )
        assert (row["status"], row["ok"]) == ("FAIL", False)
        result.stdout.fnmatch_lines([f"{category} * 0 * 0 * 0 * 2 * - * {percent} * FAIL"])
    else:
        assert_verdict(result, report, 0, [])
        assert (row["status"], row["ok"]) == ("not run", None)
        shown = "95%" if threshold == "default" else "-"
        result.stdout.fnmatch_lines([f"{category} * 0 * 0 * 0 * 2 * - * {shown} * not run"])


def test_a_login_that_gets_no_answer_says_it_was_the_login(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, gate_run: GateRun
) -> None:
    """The login runs in the test's setup: its failure must not read like the test's own
    `GET /health`."""
    monkeypatch.setenv("APP_USER", "someone")
    monkeypatch.setenv("APP_PASSWORD", "not-shown-anywhere")
    pytester.makefile(
        ".toml",
        staging="""
        [auth]
        kind = "bearer-login"
        login_path = "/reset"
        username_env = "APP_USER"
        password_env = "APP_PASSWORD"
        """,
    )
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.smoke
        def test_health(staging_auth_client):
            staging_auth_client.get("/health")
        """
    )
    with serve_faults() as server:
        result, report = gate_run(server.url)
        (login,) = [seen for seen in server.requests if seen.path == "/reset"]
    login_line = (
        "cannot authenticate with the manifest's [[]auth]: logging in ([[]auth] login_path): "
        f"POST /reset: *127.0.0.1:{server.port}*: did the service crash or restart?*"
    )
    assert login.method == "POST"
    # A reset while the login's body is still being sent reads as a reset or as a close,
    # as the kernel delivers it: either way the line names the login, never GET /health.
    result.stdout.fnmatch_lines([f"*{login_line}"])
    assert "GET /health" not in report["tests"][0].get("cause", "")
    assert [test["outcome"] for test in report["tests"]] == ["error"]


@pytest.mark.parametrize(
    ("scheme", "health", "cause"),
    [
        (
            "http",
            "/garbage",
            r"RemoteProtocolError: 127\.0\.0\.1:\d+ answered with something that is not HTTP "
            r"\(.+\): is it an HTTP server, is the URL's scheme right\?",
        ),
        (
            "https",
            "/health",
            r"ConnectError: the TLS handshake with 127\.0\.0\.1:\d+ failed \(.+\): does it speak "
            r"HTTPS on that port, is the URL's scheme right\?",
        ),
    ],
)
def test_a_health_answer_that_is_not_http_says_what_to_check(
    pytester: pytest.Pytester, gate_run: GateRun, scheme: str, health: str, cause: str
) -> None:
    """The readiness wait gives the same cause and advice a test's failure would."""
    pytester.makefile(".toml", staging=f'[health]\npath = "{health}"\n')
    pytester.makepyfile(HEALTH_TESTS)
    with serve_faults() as server:
        result, report = gate_run(server.url.replace("http", scheme, 1))
    (reason,) = report["reasons"]
    assert re.fullmatch(
        rf"target not ready \(1 attempt\(s\)\): GET {health} got no answer \({cause}\)", reason
    ), reason
    assert_verdict(result, report, 69, [reason])
