"""Retries of the session client, flaky tests, and credentials that stay with the target.

Every test talks to real loopback servers started here: a `ThreadingHTTPServer` whose
answers are scripted per path ("503 twice, then 200"), and which counts and timestamps
every attempt it receives. Timing asserts are loose on purpose (the machine is noisy):
a wait that must happen is checked from below, a bound from above with wide slack.
"""

from __future__ import annotations

import email.utils
import json
import socket
import ssl
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import trustme
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.http.client import build_client
from pytest_staging.http.retrying import Retry, RetryPolicy, RetryTransport, retry_after_s
from pytest_staging.http.target import StagingTarget
from pytest_staging.http.transports import TimedTransport
from pytest_staging.phase_log import PhaseLog
from pytest_staging.redaction import Secret
from pytest_staging.settings.resolution import StagingSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

Report = dict[str, Any]
HANG_CAP_S = 5.0
"""The hanging endpoint answers after this long at most (or at once when the server stops)."""
FAST = RetryPolicy(backoff_first_s=0.01, backoff_max_s=0.05, jitter_s=0.01)
"""The default policy with near-zero backoff, so waits come only from what is tested."""

# --- a scripted server ----------------------------------------------------------------------

Step = str
"""One answer: "200", "503", "503 retry-after=1", "close" (no answer), "garbage" (not HTTP),
"hang", "redirect=URL", "echo" (the request's headers as JSON), "cookie" (200 with Set-Cookie)."""

SCRIPTS: dict[str, list[Step]] = {
    "/twice-503": ["503", "503", "200"],
    "/once-503": ["503", "200"],
    "/retry-after-1": ["503 retry-after=1", "200"],
    "/retry-after-date": ["503 retry-after=date+2", "200"],
    "/retry-after-long": ["503 retry-after=3600"],
    "/retry-after-3": ["503 retry-after=3", "200"],
    "/drop-once": ["close", "200"],
    "/garbage-once": ["garbage", "200"],
    "/always-502": ["502"],
    "/always-500": ["500"],
    "/always-503": ["503"],
    "/503-then-500": ["503", "500"],
    "/post-503": ["503", "200"],
    "/put-503": ["503", "200"],
    "/hang": ["hang"],
    "/health": ["200"],
    "/echo": ["echo"],
    "/login": ["cookie"],
}
"""Per path, the answers in order; the last one repeats."""


@dataclass
class Seen:
    method: str
    path: str
    at: float
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def _answer(self) -> None:
        path = self.path.split("?")[0]
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        step = self.server.next_step(self.command, path, self.headers)
        kind, _, argument = step.partition(" ")
        if kind == "close":
            self.close_connection = True
            return
        if kind == "garbage":
            self.wfile.write(b"NOT HTTP AT ALL\r\n\r\n")
            self.close_connection = True
            return
        if kind == "hang":
            self.server.released.wait(HANG_CAP_S)
            self._send(200, b"late")
            return
        if kind.startswith("redirect="):
            self._send(302, b"", {"Location": kind.removeprefix("redirect=")})
            return
        if kind == "echo":
            seen = {name.lower(): value for name, value in self.headers.items()}
            self._send(200, json.dumps(seen).encode(), {"Content-Type": "application/json"})
            return
        if kind == "cookie":
            self._send(200, b"in", {"Set-Cookie": "session=cookie-secret; Path=/"})
            return
        headers = {}
        if argument.startswith("retry-after="):
            value = argument.removeprefix("retry-after=")
            if value.startswith("date+"):
                when = datetime.now(UTC) + timedelta(seconds=int(value.removeprefix("date+")))
                value = email.utils.format_datetime(when, usegmt=True)
            headers["Retry-After"] = value
        self._send(int(kind), f"answer {kind}".encode(), headers)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = _answer

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class ScriptedServer(ThreadingHTTPServer):
    daemon_threads = False  # server_close joins the request threads

    def __init__(self, scripts: dict[str, list[Step]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.scripts = scripts
        self.released = threading.Event()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def next_step(self, method: str, path: str, headers: Any) -> Step:
        with self._lock:
            number = self.count(path)
            self.seen.append(Seen(method, path, time.monotonic(), dict(headers.items())))
        steps = self.scripts.get(path, ["404"])
        return steps[min(number, len(steps) - 1)]

    def count(self, path: str) -> int:
        return sum(1 for seen in self.seen if seen.path == path)

    def times(self, path: str) -> list[float]:
        return [seen.at for seen in self.seen if seen.path == path]

    def reset(self) -> None:
        with self._lock:
            self.seen.clear()


@contextmanager
def serving(scripts: dict[str, list[Step]] = SCRIPTS) -> Iterator[ScriptedServer]:
    server = ScriptedServer(scripts)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=HANG_CAP_S + 5)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with serving() as running:
        yield running


@dataclass
class Stack:
    client: httpx.Client
    log: PhaseLog
    retries: list[Retry]

    def records(self) -> list[tuple[int | None, str | None]]:
        return [(record.status, record.error) for record in self.log.take().requests]


@pytest.fixture
def stack() -> Iterator[Callable[..., Stack]]:
    """A client on RetryTransport -> TimedTransport -> HTTPTransport, as build_client stacks them."""
    clients: list[httpx.Client] = []

    def make(url: str, policy: RetryPolicy = FAST, timeout: float = 5.0) -> Stack:
        log, retries = PhaseLog(), list[Retry]()
        transport = RetryTransport(
            TimedTransport(httpx.HTTPTransport(), log), policy, retries.append
        )
        clients.append(httpx.Client(base_url=url, transport=transport, timeout=timeout))
        return Stack(clients[-1], log, retries)

    yield make
    for client in clients:
        client.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- what is retried ------------------------------------------------------------------------


def test_503_twice_then_200_is_three_attempts_each_recorded(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url)
    response = s.client.get("/twice-503")
    assert (response.status_code, response.text) == (200, "answer 200")
    assert server.count("/twice-503") == 3
    assert s.records() == [(503, None), (503, None), (200, None)]
    assert [(retry.attempt, retry.cause) for retry in s.retries] == [(1, "503"), (2, "503")]
    assert (s.retries[0].method, s.retries[0].path) == ("GET", "/twice-503")


def test_a_connection_closed_without_an_answer_is_retried(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url)
    assert s.client.get("/drop-once").status_code == 200
    assert server.count("/drop-once") == 2
    assert s.records() == [(None, "RemoteProtocolError"), (200, None)]


def test_an_answer_that_is_not_http_is_not_retried(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url)
    with pytest.raises(httpx.RemoteProtocolError):
        s.client.get("/garbage-once")
    assert server.count("/garbage-once") == 1


def test_a_refused_connection_is_retried_then_raised(stack: Callable[..., Stack]) -> None:
    s = stack(f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(httpx.ConnectError):
        s.client.get("/health")
    assert s.records() == [(None, "ConnectError")] * 3
    assert s.retries == []  # nothing was rescued: the retries changed nothing


def test_a_certificate_that_does_not_verify_is_not_retried(stack: Callable[..., Stack]) -> None:
    """Waiting cannot make an untrusted certificate trusted: one attempt, then the error."""
    certificate = trustme.CA().issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    with serving() as server:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        s = stack(server.url.replace("http://", "https://"))
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            s.client.get("/health")
    assert s.records() == [(None, "ConnectError")]
    assert s.retries == []


def test_502_always_gives_up_after_the_retries_and_hands_back_the_502(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url)
    response = s.client.get("/always-502")
    assert (response.status_code, response.text) == (502, "answer 502")
    assert server.count("/always-502") == 3
    assert s.records() == [(502, None)] * 3


def test_retries_that_meet_a_failure_again_rescue_nothing_and_go_unreported(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    """Flaky means a retry changed the outcome: the same 503 three times, or a 500 after a 503,
    did not (a `limit_req` answering 503 to every attempt is not a flaky service)."""
    s = stack(server.url)
    assert s.client.get("/always-503").status_code == 503
    assert s.client.get("/503-then-500").status_code == 500
    assert s.records() == [(503, None)] * 3 + [(503, None), (500, None)]
    assert s.retries == []
    assert s.client.get("/once-503").status_code == 200
    assert [(retry.path, retry.cause) for retry in s.retries] == [("/once-503", "503")]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "HEAD", "OPTIONS"])
def test_other_idempotent_methods_are_retried(
    server: ScriptedServer, stack: Callable[..., Stack], method: str
) -> None:
    s = stack(server.url)
    assert s.client.request(method, "/put-503").status_code == 200
    assert server.count("/put-503") == 2


def test_a_post_is_never_retried(server: ScriptedServer, stack: Callable[..., Stack]) -> None:
    s = stack(server.url)
    assert s.client.post("/post-503", json={"a": 1}).status_code == 503
    assert server.count("/post-503") == 1
    assert s.retries == []


def test_a_streamed_upload_is_not_retried(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url)
    response = s.client.put("/put-503", content=iter([b"once", b" only"]))
    assert response.status_code == 503
    assert server.count("/put-503") == 1


def test_a_status_outside_the_policy_is_not_retried(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url)
    assert s.client.get("/always-500").status_code == 500
    assert server.count("/always-500") == 1
    with_500 = stack(server.url, RetryPolicy(statuses=frozenset({500}), backoff_first_s=0.01))
    assert with_500.client.get("/always-500").status_code == 500
    assert server.count("/always-500") == 1 + 3


def test_a_hanging_endpoint_times_out_once_and_is_not_retried(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        s.client.get("/hang")
    assert time.monotonic() - started < HANG_CAP_S - 1  # one timeout, never three
    assert server.count("/hang") == 1
    assert s.records() == [(None, "ReadTimeout")]


# --- how long it waits ----------------------------------------------------------------------


def test_retry_after_in_seconds_is_honoured(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url)
    assert s.client.get("/retry-after-1").status_code == 200
    first, second = server.times("/retry-after-1")
    assert second - first >= 0.95
    assert s.retries[0].wait_s == 1.0


def test_retry_after_as_an_http_date_is_honoured(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url)
    assert s.client.get("/retry-after-date").status_code == 200
    first, second = server.times("/retry-after-date")
    assert second - first >= 0.9  # "now + 2 s", cut to whole seconds by the date format
    assert 0.9 <= s.retries[0].wait_s <= 2.1


def test_retry_after_beyond_the_cap_is_not_waited_for(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url)
    started = time.monotonic()
    response = s.client.get("/retry-after-long")
    assert time.monotonic() - started < 3
    assert (response.status_code, response.headers["Retry-After"]) == (503, "3600")
    assert server.count("/retry-after-long") == 1
    assert s.retries == []


def test_retry_after_over_the_cap_is_not_waited_for_even_within_the_deadline(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url, RetryPolicy(deadline_s=10.0, retry_after_cap_s=2.0))
    started = time.monotonic()
    assert s.client.get("/retry-after-3").status_code == 503
    assert time.monotonic() - started < 2.5
    assert server.count("/retry-after-3") == 1


def test_retry_after_beyond_the_deadline_is_not_waited_for(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url, RetryPolicy(deadline_s=2.0, retry_after_cap_s=5.0))
    started = time.monotonic()
    assert s.client.get("/retry-after-3").status_code == 503
    assert time.monotonic() - started < 2.5
    assert server.count("/retry-after-3") == 1


def test_the_deadline_stops_retries_before_the_count_does(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    policy = RetryPolicy(retries=10, deadline_s=1.0, backoff_first_s=0.3, backoff_max_s=0.3)
    s = stack(server.url, policy)
    started = time.monotonic()
    assert s.client.get("/always-502").status_code == 502
    assert time.monotonic() - started < 1.0 + 2.0  # no wait ends past the deadline
    assert 2 <= server.count("/always-502") <= 4  # about 1.0 / 0.3, far below 11


def test_the_default_backoff_waits_between_attempts(
    server: ScriptedServer, stack: Callable[..., Stack]
) -> None:
    s = stack(server.url, RetryPolicy())
    assert s.client.get("/once-503").status_code == 200
    first, second = server.times("/once-503")
    assert second - first >= 0.45  # 0.5 s plus up to 0.5 s of jitter
    assert 0.5 <= s.retries[0].wait_s <= 1.0


def test_retry_after_values() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)

    def parsed(value: str) -> float | None:
        response = httpx.Response(503, headers={"Retry-After": value} if value else {})
        return retry_after_s(response, now)

    assert parsed("7") == 7.0
    assert parsed(" 0 ") == 0.0
    assert parsed("Wed, 01 Jan 2025 12:00:30 GMT") == 30.0
    assert parsed("Wed, 01 Jan 2025 11:00:00 GMT") == 0.0  # in the past: no wait
    assert parsed("Wed, 01 Jan 2025 12:00:30 -0000") == 30.0
    for unusable in ("", "-1", "1.5", "soon", "Wed, 99 Foo 2025"):
        assert parsed(unusable) is None, unusable


# --- the session client ---------------------------------------------------------------------


def session_client(
    url: str, log: PhaseLog, settings: StagingSettings | None = None, **kwargs: Any
) -> httpx.Client:
    target = StagingTarget.from_url(url, "staging")
    return build_client(settings or StagingSettings(timeout=5.0), target, log, **kwargs)


def test_the_session_client_retries_and_tells_the_phase_log(server: ScriptedServer) -> None:
    log = PhaseLog()
    with session_client(server.url, log, retry=True) as client:
        assert client.get("/once-503").status_code == 200
    phase = log.take()
    assert [record.status for record in phase.requests] == [503, 200]
    assert phase.retries == 1
    assert log.take().retries == 0


def test_the_session_client_follows_the_retry_options(server: ScriptedServer) -> None:
    log = PhaseLog()
    off = StagingSettings(timeout=5.0, retries=0)
    with session_client(server.url, log, off, retry=True) as client:
        assert client.get("/once-503").status_code == 503
    server.reset()
    only_502 = StagingSettings(timeout=5.0, retry_on=(502,))
    with session_client(server.url, log, only_502, retry=True) as client:
        assert client.get("/once-503").status_code == 503
        assert client.get("/always-502").status_code == 502
    assert (server.count("/once-503"), server.count("/always-502")) == (1, 3)
    assert log.take().retries == 0  # the 502 came back each time: no retry rescued it


def test_a_client_on_a_private_log_does_not_retry(server: ScriptedServer) -> None:
    """The readiness probe's client: `--staging-wait` is its retry loop, and a retry
    nobody hears of would make no test flaky."""
    with session_client(server.url, PhaseLog()) as client:
        assert client.get("/once-503").status_code == 503
    assert server.count("/once-503") == 1


# --- credentials stay with the target -------------------------------------------------------


def test_credentials_never_follow_a_redirect_to_another_origin() -> None:
    with serving() as other, serving() as target_server:
        scripts = target_server.scripts = dict(SCRIPTS)
        scripts["/away"] = [f"redirect={other.url}/echo"]  # same host, another port
        scripts["/home"] = ["redirect=/echo"]
        settings = StagingSettings(
            timeout=5.0,
            token=Secret("token-secret"),
            headers=(("X-Api-Key", Secret("key-secret")), ("Cookie", Secret("pref=1"))),
        )
        with session_client(target_server.url, PhaseLog(), settings) as client:
            client.get("/login")  # the target sets a cookie in the client's jar
            home = client.get("/home", follow_redirects=True).json()
            away = client.get("/away", follow_redirects=True).json()
            direct = client.get(f"{other.url}/echo").json()
    assert home["authorization"] == "Bearer token-secret"
    assert home["x-api-key"] == "key-secret"
    assert "session=cookie-secret" in home["cookie"]
    for received in (away, direct):
        assert received["user-agent"] == "pytest-staging"
        leaked = {"authorization", "x-api-key", "cookie"} & set(received)
        assert not leaked, received
        assert "secret" not in json.dumps(received)
    assert [seen.path for seen in other.seen] == ["/echo", "/echo"]


def test_url_credentials_never_follow_a_redirect_to_another_origin() -> None:
    with serving() as other, serving() as target_server:
        target_server.scripts = {**SCRIPTS, "/away": [f"redirect={other.url}/echo"]}
        url = target_server.url.replace("http://", "http://deployer:pw-secret@")
        with session_client(url, PhaseLog()) as client:
            away = client.get("/away", follow_redirects=True).json()
    assert "authorization" not in away
    (sent,) = [seen for seen in target_server.seen if seen.path == "/away"]
    assert sent.headers["Authorization"].startswith("Basic ")


# --- flaky tests in a gated run -------------------------------------------------------------

RETRIED_ONCE = """
import pytest

@pytest.mark.smoke
def test_health(staging_client):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.integration
def test_retried(staging_client):
    assert staging_client.get("/once-503").status_code == 200
"""
RETRIED_NODEID = "test_flaky.py::test_retried"
FLAKY_REASON = (
    f"integration: 1 flaky test counted as failed (--staging-flaky-fails): {RETRIED_NODEID}"
)


def gated_run(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    server: ScriptedServer,
    *args: str,
    subprocess: bool = False,
) -> tuple[pytest.RunResult, Report]:
    server.reset()
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    options = (*INNER_RUN_OPTIONS, f"--staging-url={server.url}", "--staging-report=gate.json")
    result = run(*options, *args, timeout=120) if subprocess else run(*options, *args)
    return result, read_report(pytester.path / "gate.json")


def test_a_test_that_passed_after_a_retry_is_flaky_and_counts_as_passed(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], server: ScriptedServer
) -> None:
    pytester.makepyfile(test_flaky=RETRIED_ONCE)
    result, report = gated_run(pytester, read_report, server)
    assert (result.ret, report["verdict"], report["reasons"]) == (0, "GO", [])
    assert report["flaky"] == [RETRIED_NODEID]
    assert report["categories"]["integration"]["passed"] == 1
    assert report["categories"]["integration"]["failed"] == 0
    tests = {test["nodeid"]: test for test in report["tests"]}
    assert (tests[RETRIED_NODEID]["outcome"], tests[RETRIED_NODEID]["flaky"]) == ("passed", True)
    assert tests[RETRIED_NODEID]["requests"] == 2  # each attempt is a request of its own
    assert tests["test_flaky.py::test_health"]["flaky"] is False
    assert server.count("/once-503") == 2
    assert report["latency"]["GET /once-503"]["count"] == 2


def test_flaky_fails_makes_the_retried_test_a_failure_of_its_category(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], server: ScriptedServer
) -> None:
    pytester.makepyfile(test_flaky=RETRIED_ONCE)
    result, report = gated_run(pytester, read_report, server, "--staging-flaky-fails=integration")
    assert (result.ret, report["verdict"]) == (1, "NO-GO")
    assert report["reasons"] == [
        "integration: pass rate 0% (0 of 1) is below the threshold 95%",
        FLAKY_REASON,
    ]
    assert report["flaky"] == [RETRIED_NODEID]
    assert report["categories"]["integration"]["failed"] == 1
    assert report["categories"]["smoke"]["ok"] is True
    result.stdout.fnmatch_lines(["STAGING GATE: NO-GO", f"  - {FLAKY_REASON}"])
    untouched, _ = gated_run(pytester, read_report, server, "--staging-flaky-fails=smoke")
    assert untouched.ret == 0


def test_under_xdist_a_retried_test_is_flaky_and_flaky_fails_is_no_go(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], server: ScriptedServer
) -> None:
    pytester.makepyfile(test_flaky=RETRIED_ONCE)
    result, report = gated_run(pytester, read_report, server, "-n", "2", subprocess=True)
    assert (result.ret, report["verdict"], report["flaky"]) == (0, "GO", [RETRIED_NODEID])
    assert report["categories"]["integration"]["passed"] == 1
    result, report = gated_run(
        pytester, read_report, server, "-n", "2", "--staging-flaky-fails=all", subprocess=True
    )
    assert (result.ret, report["verdict"]) == (1, "NO-GO")
    assert FLAKY_REASON in report["reasons"]
    assert report["flaky"] == [RETRIED_NODEID]


ALWAYS_503 = """
import pytest

@pytest.mark.smoke
def test_health(staging_client):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.integration
def test_rate_limited(staging_client):
    assert staging_client.get("/always-503").status_code == 503
"""


def test_a_test_whose_retried_requests_all_got_the_same_503_is_not_flaky(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], server: ScriptedServer
) -> None:
    pytester.makepyfile(test_flaky=ALWAYS_503)
    result, report = gated_run(pytester, read_report, server, "--staging-flaky-fails=all")
    assert server.count("/always-503") == 3  # retried twice, as the default policy says
    assert (result.ret, report["verdict"], report["flaky"]) == (0, "GO", [])
    tests = {test["nodeid"]: test for test in report["tests"]}
    rate_limited = tests["test_flaky.py::test_rate_limited"]
    assert (rate_limited["outcome"], rate_limited["flaky"], rate_limited["requests"]) == (
        "passed",
        False,
        3,
    )
    result.stdout.no_fnmatch_line("flaky, passed after a retry*")


def test_retries_off_the_same_test_fails_instead(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], server: ScriptedServer
) -> None:
    pytester.makepyfile(test_flaky=RETRIED_ONCE)
    result, report = gated_run(pytester, read_report, server, "--staging-retries=0")
    assert (result.ret, report["flaky"]) == (1, [])
    assert report["categories"]["integration"]["failed"] == 1
    assert server.count("/once-503") == 1
