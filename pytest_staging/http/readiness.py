"""Wait for a fresh deploy to answer, healthy and at the expected version.

Runs once per pytest run, on the controller. A probe is one GET of the
health endpoint; tenacity repeats it with capped exponential backoff. Our own
deadline (read from an injectable clock) decides when to stop, caps every
wait and every attempt (its timeout, and its whole exchange, headers and body,
as the request's deadline), so the whole wait never overshoots `--staging-wait`.

Two levels of "ready", on purpose:
- with `--staging-wait S` (S > 0) the health endpoint must answer its
  expected status: the deploy is healthy, not merely up;
- with no wait, one probe only checks that the target answers at all; how
  healthy it is, the smoke tests judge and the gate counts.
In both cases `--staging-expect-version` must match the version the health
document reports.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_result, wait_exponential

from pytest_staging import json_pointer, timing
from pytest_staging.http.deadlines import DEADLINE_EXTENSION, Deadline
from pytest_staging.http.failures import failure_cause
from pytest_staging.http.target import address
from pytest_staging.http.tls import certificate_problem
from pytest_staging.redaction import excerpt

if TYPE_CHECKING:
    from pytest_staging.manifest.records import Health

MIN_ATTEMPT_SECONDS = 0.05
"""The shortest time left that is still worth one more probe."""
TIMEOUT_FLOOR_SECONDS = 0.001
"""httpx treats a zero timeout as "fail at once"; never pass less than this."""
HEALTH_BODY_BYTES = 64 * 1024
"""A health document is small; read no more of a runaway body."""
BACKOFF_FIRST_SECONDS = 0.25
BACKOFF_MAX_SECONDS = 5.0


@dataclass(frozen=True)
class Attempt:
    """The outcome of one probe."""

    number: int
    elapsed_s: float
    status: int | None = None
    error: str | None = None
    body: str = ""
    version: str | None = None
    address: str | None = None
    final: bool = False
    """Waiting cannot help (the target's certificate does not verify): stop at once."""

    def describe(self) -> str:
        if self.status is None:
            return f"no answer ({self.error})"
        return f"answered {self.status}"


@dataclass(frozen=True)
class Readiness:
    """The verdict of the wait: ready or not, and what was seen on the way."""

    ready: bool
    attempts: int
    last: Attempt
    reason: str | None = None


Probe = Callable[[float], Attempt]
"""Runs one probe with the given request timeout; never raises for network errors."""


class _Countdown:
    """The time --staging-wait leaves, read from the injected clock."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._start = clock()
        self.seconds = seconds

    def elapsed(self) -> float:
        return self._clock() - self._start

    def remaining(self) -> float:
        return max(0.0, self.seconds - self.elapsed())


def judge(
    attempt: Attempt, check: Health, *, strict: bool, expect_version: str | None
) -> str | None:
    """Why this attempt is not ready, or None when it is."""
    if attempt.status is None:
        return f"GET {check.path} got {attempt.describe()}"
    if strict and attempt.status not in check.statuses:
        expected = " or ".join(str(status) for status in check.statuses)
        return (
            f"GET {check.path} {attempt.describe()} (expected {expected}): "
            f"{excerpt(attempt.body, 200)}"
        )
    if expect_version is not None and attempt.version != expect_version:
        seen = "no version" if attempt.version is None else f"version {attempt.version!r}"
        return (
            f"deployed {seen} at {check.version_field} of GET {check.path}, "
            f"expected {expect_version!r}"
        )
    return None


def wait_until_ready(
    probe: Probe,
    check: Health,
    *,
    wait_s: float,
    timeout_s: float,
    expect_version: str | None = None,
    on_attempt: Callable[[Attempt, str | None], None] = lambda attempt, problem: None,
    clock: Callable[[], float] = timing.monotonic,
    sleep: Callable[[float], None] = timing.sleep,
) -> Readiness:
    """Probe until ready or the deadline; one attempt when `wait_s` is 0."""
    deadline = _Countdown(wait_s, clock)
    strict = wait_s > 0
    problems: dict[int, str | None] = {}

    def attempt() -> Attempt:
        timeout = min(timeout_s, deadline.remaining()) if strict else timeout_s
        result = probe(max(timeout, TIMEOUT_FLOOR_SECONDS))
        problems[result.number] = judge(result, check, strict=strict, expect_version=expect_version)
        on_attempt(result, problems[result.number])
        return result

    backoff = wait_exponential(multiplier=BACKOFF_FIRST_SECONDS, max=BACKOFF_MAX_SECONDS)

    def capped_wait(state: RetryCallState) -> float:
        """Back off, but always leave room for one last attempt before the deadline."""
        return min(backoff(state), max(0.0, deadline.remaining() - MIN_ATTEMPT_SECONDS))

    def stop(state: RetryCallState) -> bool:
        """Stop once the last slot (left free by `capped_wait`) is used: no busy loop at the end;
        and at once when waiting cannot help."""
        final = state.outcome is not None and state.outcome.result().final
        return final or deadline.remaining() < 1.5 * MIN_ATTEMPT_SECONDS

    retrying = Retrying(
        sleep=sleep,
        stop=stop,
        wait=capped_wait,
        retry=retry_if_result(lambda result: problems[result.number] is not None),
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )
    last: Attempt = retrying(attempt)
    problem = problems[last.number]
    if problem is None:
        return Readiness(ready=True, attempts=last.number, last=last)
    waited = f" after {deadline.elapsed():.1f} s" if strict else ""
    reason = f"target not ready{waited} ({last.number} attempt(s)): {problem}"
    return Readiness(ready=False, attempts=last.number, last=last, reason=reason)


ATTEMPT_DEADLINE = "the attempt's time: --staging-timeout, within --staging-wait"
"""What an attempt's deadline is, as its failure names it."""


def http_probe(
    client: httpx.Client, check: Health, clock: Callable[[], float] = timing.monotonic
) -> Probe:
    """A probe that GETs the health endpoint with `client` and never raises on network errors.

    httpx's timeout bounds each wait (connect, each read), not the whole request, so the
    attempt's whole exchange, headers and body, is held to the attempt's timeout as its
    deadline (by `client.build_client`'s transports, which every client must come from), and
    redirects are not followed: a dripping or redirecting endpoint cannot stretch the wait.
    """
    start = clock()
    numbers = itertools.count(1)

    def probe(timeout: float) -> Attempt:
        number = next(numbers)
        deadline = {DEADLINE_EXTENSION: Deadline(timeout, ATTEMPT_DEADLINE)}
        try:
            with client.stream("GET", check.path, timeout=timeout, extensions=deadline) as got:
                address = _peer_address(got)
                body = _read_head(got)
        except httpx.HTTPError as exc:
            untrusted = certificate_problem(exc)
            if untrusted is not None:
                return Attempt(number, clock() - start, error=untrusted, final=True)
            return Attempt(number, clock() - start, error=_error_text(exc))
        return Attempt(
            number,
            clock() - start,
            status=got.status_code,
            body=body,
            version=_version(body, check.version_field),
            address=address,
        )

    return probe


def _read_head(response: httpx.Response) -> str:
    """The body, or its first HEALTH_BODY_BYTES of a runaway one."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) >= HEALTH_BODY_BYTES:
            break
    return body[:HEALTH_BODY_BYTES].decode(response.encoding or "utf-8", errors="replace")


def _error_text(exc: Exception) -> str:
    """The error's class and, for a request that got no usable answer, the same cause and
    advice a test's failure gives (`failures.failure_cause`)."""
    cause = failure_cause(exc)
    if cause is None:
        cause = excerpt(str(exc) or "no detail", 200)
    return f"{type(exc).__name__}: {cause}"


def _version(body: str, pointer: str | None) -> str | None:
    if pointer is None:
        return None
    try:
        value: Any = json_pointer.resolve(json.loads(body), pointer)
    except (ValueError, json_pointer.PointerError):
        return None
    return None if value is None else str(value)


def _peer_address(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        host, port = stream.get_extra_info("server_addr")[:2]
    except (OSError, TypeError, AttributeError):
        return None
    return address(host, port)
