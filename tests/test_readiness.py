"""Waiting for a deploy: the retry loop on a fake clock, the HTTP probe on real loopback servers.

The fake clock makes the deadline arithmetic exact: a probe advances it by the simulated length
of its request and the fake sleep by the backoff, so "never overshoots" is checked to the
microsecond instead of against a wall clock.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pytest_staging.http.client import build_client
from pytest_staging.http.readiness import (
    BACKOFF_MAX_SECONDS,
    MIN_ATTEMPT_SECONDS,
    Attempt,
    Probe,
    Readiness,
    http_probe,
    wait_until_ready,
)
from pytest_staging.http.target import StagingTarget
from pytest_staging.manifest.records import Health
from pytest_staging.phase_log import PhaseLog
from pytest_staging.redaction import redactor
from pytest_staging.settings.resolution import StagingSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    MakeProbe = Callable[[str], Probe]

START = 100.0
EPSILON = 1e-9
CHECK = Health()
REFUSED = {"error": "ConnectError: [Errno 111] Connection refused"}
UP = {"status": 200, "version": "1.0.0", "body": '{"status":"healthy","version":"1.0.0"}'}
DEGRADED_BODY = '{"status":"degraded","version":"1.0.0"}'
DOWN = {"status": 503, "version": "1.0.0", "body": DEGRADED_BODY}


class FakeTime:
    """A clock that moves only when the code under test sleeps or a probe "takes" time."""

    def __init__(self) -> None:
        self.now = START
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedProbe:
    """Answers with the scripted outcomes (the last one repeats) and spends simulated time.

    `takes` is the simulated request length in seconds (a request ends at its timeout at the
    latest), or None for "the whole timeout".
    Each call records the timeout it was given and the time left until `deadline`.
    """

    def __init__(
        self,
        fake: FakeTime,
        *outcomes: dict[str, Any],
        takes: float | None = 0.0,
        deadline: float = float("inf"),
    ) -> None:
        self._fake = fake
        self._outcomes = outcomes
        self._takes = takes
        self._deadline = deadline
        self.calls: list[tuple[float, float]] = []

    def __call__(self, timeout: float) -> Attempt:
        self.calls.append((timeout, self._deadline - self._fake.now))
        self._fake.now += timeout if self._takes is None else min(self._takes, timeout)
        number = len(self.calls)
        outcome = self._outcomes[min(number, len(self._outcomes)) - 1]
        return Attempt(number, self._fake.now - START, **outcome)


def wait(
    probe: Probe, fake: FakeTime, wait_s: float, timeout_s: float = 10.0, **options: Any
) -> Readiness:
    return wait_until_ready(
        probe,
        CHECK,
        wait_s=wait_s,
        timeout_s=timeout_s,
        clock=fake.clock,
        sleep=fake.sleep,
        **options,
    )


@pytest.mark.parametrize("wait_s", [0.3, 1.0, 7.5, 30.0, 300.0])
@pytest.mark.parametrize("timeout_s", [0.5, 10.0])
@pytest.mark.parametrize("takes", [0.0, 0.7, None], ids=["instant", "0.7s", "whole-timeout"])
def test_the_deadline_is_never_overshot(
    wait_s: float, timeout_s: float, takes: float | None
) -> None:
    fake = FakeTime()
    probe = ScriptedProbe(fake, REFUSED, takes=takes, deadline=START + wait_s)
    readiness = wait(probe, fake, wait_s, timeout_s)
    assert not readiness.ready
    assert readiness.attempts == len(probe.calls) >= 1
    assert fake.now - START <= wait_s + EPSILON
    assert fake.now - START > wait_s - BACKOFF_MAX_SECONDS - MIN_ATTEMPT_SECONDS
    for timeout, remaining in probe.calls:
        assert timeout <= remaining + EPSILON
        assert timeout == pytest.approx(min(timeout_s, remaining))


def test_a_probe_that_uses_every_timeout_ends_exactly_at_the_deadline() -> None:
    """10 s requests in a 30 s wait: 10, sleep 0.25, 10, sleep 0.5, then the 9.25 s left."""
    fake = FakeTime()
    probe = ScriptedProbe(fake, REFUSED, takes=None)
    readiness = wait(probe, fake, 30.0, 10.0)
    assert [timeout for timeout, _ in probe.calls] == [10.0, 10.0, 9.25]
    assert fake.sleeps == [0.25, 0.5]
    assert fake.now - START == 30.0
    assert readiness.attempts == 3


def test_a_wait_shorter_than_the_minimum_attempt_is_not_overshot() -> None:
    """The module promises the wait never overshoots `--staging-wait`, whatever its value."""
    fake = FakeTime()
    probe = ScriptedProbe(fake, REFUSED, takes=None, deadline=START + 0.01)
    wait(probe, fake, 0.01)
    assert probe.calls[0][0] <= 0.01
    assert fake.now - START <= 0.01 + EPSILON


@pytest.mark.parametrize(("wait_s", "healthy_from"), [(7.5, 5.0), (30.0, 29.0)])
def test_the_wait_keeps_probing_while_time_is_left(wait_s: float, healthy_from: float) -> None:
    """A deploy that turns healthy well inside the wait must be found ready.

    Instant probes make the attempts at 0, 0.25, 0.75, 1.75, 3.75, then every 5 s: the loop
    must still try once more when the next backoff does not fit but an attempt does.
    """
    fake = FakeTime()
    numbers = itertools.count(1)

    def probe(timeout: float) -> Attempt:
        outcome = UP if fake.now - START >= healthy_from else REFUSED
        return Attempt(next(numbers), fake.now - START, **outcome)

    readiness = wait(probe, fake, wait_s)
    assert readiness.reason is None
    assert readiness.ready
    assert fake.now - START <= wait_s


def test_backoff_starts_at_a_quarter_second_doubles_and_caps_at_five() -> None:
    fake = FakeTime()
    wait(ScriptedProbe(fake, REFUSED), fake, 300.0)
    assert fake.sleeps[:63] == [0.25, 0.5, 1.0, 2.0, 4.0] + [5.0] * 58
    assert max(fake.sleeps) == 5.0


def test_request_timeouts_shrink_to_the_time_left() -> None:
    """In 1 s: attempts at 0, 0.25 and 0.75, each allowed exactly the time that is left."""
    fake = FakeTime()
    probe = ScriptedProbe(fake, REFUSED, deadline=START + 1.0)
    wait(probe, fake, 1.0)
    assert fake.sleeps[:2] == [0.25, 0.5]
    assert probe.calls[:3] == [(1.0, 1.0), (0.75, 0.75), (0.25, 0.25)]


def test_no_wait_makes_exactly_one_attempt_with_the_full_timeout() -> None:
    fake = FakeTime()
    probe = ScriptedProbe(fake, REFUSED, UP, takes=None)
    readiness = wait(probe, fake, 0.0, 12.5)
    assert [timeout for timeout, _ in probe.calls] == [12.5]
    assert fake.sleeps == []
    assert readiness.attempts == 1
    assert not readiness.ready
    assert readiness.reason == (
        "target not ready (1 attempt(s)): "
        "GET /health got no answer (ConnectError: [Errno 111] Connection refused)"
    )


def test_no_wait_accepts_any_http_status() -> None:
    fake = FakeTime()
    readiness = wait(ScriptedProbe(fake, DOWN), fake, 0.0)
    assert readiness.ready
    assert readiness.reason is None
    assert readiness.last.status == 503


def test_a_wait_requires_the_expected_status_and_retries_until_it_comes() -> None:
    fake = FakeTime()
    seen: list[tuple[int, str | None]] = []
    readiness = wait(
        ScriptedProbe(fake, REFUSED, DOWN, UP),
        fake,
        30.0,
        on_attempt=lambda attempt, problem: seen.append((attempt.number, problem)),
    )
    assert readiness.ready
    assert readiness.attempts == 3
    assert readiness.last.status == 200
    assert fake.sleeps == [0.25, 0.5]
    assert seen == [
        (1, "GET /health got no answer (ConnectError: [Errno 111] Connection refused)"),
        (2, f"GET /health answered 503 (expected 200): {DEGRADED_BODY}"),
        (3, None),
    ]


def test_the_reason_for_a_503_carries_the_waited_time_and_a_body_excerpt() -> None:
    fake = FakeTime()
    readiness = wait(ScriptedProbe(fake, DOWN, takes=1.5), fake, 3.0, 2.0)
    assert readiness.reason == (
        "target not ready after 3.0 s (2 attempt(s)): "
        f"GET /health answered 503 (expected 200): {DEGRADED_BODY}"
    )


def test_the_body_in_the_reason_is_cut_to_200_characters_and_redacted() -> None:
    redactor.register(["hunter2-secret"])
    try:
        body = "hunter2-secret " + "y" * 300
        fake = FakeTime()
        probe = ScriptedProbe(fake, {"status": 500, "body": body}, takes=None)
        readiness = wait(probe, fake, 0.5)
    finally:
        redactor.clear()
    masked = "*** " + "y" * 300
    assert readiness.reason == (
        "target not ready after 0.5 s (1 attempt(s)): GET /health answered 500 (expected 200): "
        f"{masked[:200]}… ({len(masked) - 200} more characters)"
    )


def test_a_custom_health_check_names_its_path_and_status() -> None:
    fake = FakeTime()
    check = Health(path="/ready", statuses=(204,))
    readiness = wait_until_ready(
        ScriptedProbe(fake, UP),
        check,
        wait_s=0.3,
        timeout_s=1.0,
        clock=fake.clock,
        sleep=fake.sleep,
    )
    assert readiness.reason is not None
    assert readiness.reason.endswith(
        'GET /ready answered 200 (expected 204): {"status":"healthy","version":"1.0.0"}'
    )


@pytest.mark.parametrize("wait_s", [0.0, 5.0])
def test_a_different_version_is_not_ready_and_names_both_versions(wait_s: float) -> None:
    fake = FakeTime()
    readiness = wait(ScriptedProbe(fake, UP), fake, wait_s, expect_version="1.1.0")
    assert not readiness.ready
    assert readiness.reason is not None
    assert readiness.reason.endswith(
        "deployed version '1.0.0' at /version of GET /health, expected '1.1.0'"
    )


def test_a_missing_version_is_not_ready_and_names_the_pointer() -> None:
    fake = FakeTime()
    check = Health(version_field="/build/version")
    readiness = wait_until_ready(
        ScriptedProbe(fake, {"status": 200, "body": "{}"}),
        check,
        wait_s=0.0,
        timeout_s=1.0,
        expect_version="1.0.0",
        clock=fake.clock,
        sleep=fake.sleep,
    )
    assert readiness.reason == (
        "target not ready (1 attempt(s)): "
        "deployed no version at /build/version of GET /health, expected '1.0.0'"
    )


def test_the_expected_version_arriving_later_makes_the_target_ready() -> None:
    fake = FakeTime()
    old = {**UP, "version": "0.9.0"}
    readiness = wait(ScriptedProbe(fake, old, old, UP), fake, 30.0, expect_version="1.0.0")
    assert readiness.ready
    assert readiness.attempts == 3


def test_on_attempt_is_called_once_per_attempt() -> None:
    """10 s requests in a 30 s wait: attempts at 0, 10.25 and 20.75."""
    fake = FakeTime()
    seen: list[tuple[Attempt, str | None]] = []
    probe = ScriptedProbe(fake, REFUSED, takes=None)
    wait(probe, fake, 30.0, on_attempt=lambda attempt, problem: seen.append((attempt, problem)))
    assert len(probe.calls) == 3
    assert [(attempt.number, attempt.elapsed_s) for attempt, _ in seen] == [
        (1, 10.0),
        (2, 20.25),
        (3, 30.0),
    ]
    assert {problem for _, problem in seen} == {
        "GET /health got no answer (ConnectError: [Errno 111] Connection refused)"
    }


# --- the HTTP probe against real servers on 127.0.0.1 ------------------------------------


class _HoldingServer(ThreadingHTTPServer):
    """Joins its request threads on close, so no handler outlives the test."""

    daemon_threads = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HoldingHandler)
        self.release = threading.Event()


class _HoldingHandler(BaseHTTPRequestHandler):
    """Holds every request for 2 s (or until released) and then hangs up without answering."""

    server: _HoldingServer

    def do_GET(self) -> None:
        self.server.release.wait(2.0)


def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 in a thread; release, stop and join it afterwards."""
    server = _HoldingServer()
    server.RequestHandlerClass = handler
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def slow_url() -> Iterator[str]:
    yield from _serve(_HoldingHandler)


class _DrippingHandler(BaseHTTPRequestHandler):
    """Answers 503 at once, then drips the body one byte every 0.1 s (until released)."""

    server: _HoldingServer

    def do_GET(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "100")
        self.end_headers()
        for _ in range(100):
            if self.server.release.wait(0.1):
                return
            self.wfile.write(b"x")
            self.wfile.flush()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


@pytest.fixture
def dripping_url() -> Iterator[str]:
    yield from _serve(_DrippingHandler)


@pytest.fixture
def closed_url() -> str:
    """A loopback port nobody listens on: bound for a free number, then closed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def probe_for() -> Iterator[MakeProbe]:
    """HTTP probes through the session's kind of client (whose transport holds each attempt
    to its deadline), all closed after the test."""
    clients: list[httpx.Client] = []

    def make(url: str) -> Probe:
        settings = StagingSettings(url=url)
        target = StagingTarget.from_url(url, "staging")
        clients.append(build_client(settings, target, PhaseLog()))
        return http_probe(clients[-1], CHECK)

    yield make
    for client in clients:
        client.close()


def test_http_probe_of_a_healthy_demo(demo_url: str, probe_for: MakeProbe) -> None:
    probe = probe_for(demo_url)
    attempt = probe(2.0)
    assert (attempt.number, attempt.status, attempt.error) == (1, 200, None)
    assert attempt.version == "1.0.0"
    assert attempt.address == demo_url.removeprefix("http://")
    assert attempt.address.startswith("127.0.0.1:")
    assert '"status":"healthy"' in attempt.body
    assert attempt.elapsed_s > 0
    assert probe(2.0).number == 2


class _HealthyHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"status": "healthy", "version": "1.0.0"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = False


def test_http_probe_shows_an_ipv6_address_in_brackets(probe_for: MakeProbe) -> None:
    """`[::1]:PORT`, not `::1:PORT`, where the port would read as part of the address."""
    server = _IPv6Server(("::1", 0), _HealthyHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        port = server.server_address[1]
        attempt = probe_for(f"http://[::1]:{port}")(2.0)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert (attempt.status, attempt.address) == (200, f"[::1]:{port}")


def test_http_probe_of_a_degraded_demo(
    demo_servers: Callable[..., str], probe_for: MakeProbe
) -> None:
    attempt = probe_for(demo_servers("degraded"))(2.0)
    assert (attempt.status, attempt.version, attempt.error) == (503, "1.0.0", None)
    assert '"database":"unhealthy"' in attempt.body


def test_http_probe_of_a_closed_port(closed_url: str, probe_for: MakeProbe) -> None:
    attempt = probe_for(closed_url)(2.0)
    assert (attempt.status, attempt.version, attempt.address, attempt.body) == (
        None,
        None,
        None,
        "",
    )
    assert attempt.error == (
        f"ConnectError: connection refused by {closed_url.removeprefix('http://')}: "
        "is the service running, is --staging-url right?"
    )


def test_http_probe_gives_up_at_its_timeout(slow_url: str, probe_for: MakeProbe) -> None:
    probe = probe_for(slow_url)
    started = time.perf_counter()
    attempt = probe(0.3)
    assert time.perf_counter() - started < 1.5
    assert attempt.status is None
    assert attempt.error is not None
    assert attempt.error.startswith("ReadTimeout: no complete answer within 0.3 s")


def test_http_probe_of_a_dripping_body_ends_near_its_timeout(
    dripping_url: str, probe_for: MakeProbe
) -> None:
    """httpx's timeout is per read; a byte every 0.1 s would otherwise keep it going 10 s."""
    probe = probe_for(dripping_url)
    started = time.perf_counter()
    attempt = probe(0.5)
    assert time.perf_counter() - started < 1.5
    assert attempt.status is None
    assert attempt.error == (
        "ReadTimeout: no complete answer within 0.5 s (the attempt's time: "
        "--staging-timeout, within --staging-wait)"
    )


def test_http_probe_of_a_non_json_page_reads_no_version(demo_url: str) -> None:
    with httpx.Client(base_url=demo_url) as client:
        attempt = http_probe(client, Health(path="/no-such-page"))(2.0)
    assert (attempt.status, attempt.version, attempt.body) == (404, None, "Not Found")


def test_waiting_for_the_real_demo(demo_url: str) -> None:
    with httpx.Client(base_url=demo_url) as client:
        ready = wait_until_ready(http_probe(client, CHECK), CHECK, wait_s=5.0, timeout_s=2.0)
        stale = wait_until_ready(
            http_probe(client, CHECK), CHECK, wait_s=0.0, timeout_s=2.0, expect_version="2.0.0"
        )
    assert (ready.ready, ready.attempts, ready.last.version) == (True, 1, "1.0.0")
    assert stale.reason == (
        "target not ready (1 attempt(s)): "
        "deployed version '1.0.0' at /version of GET /health, expected '2.0.0'"
    )
