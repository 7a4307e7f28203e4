"""Retries for the session client: idempotent requests, transient failures, bounded.

`RetryTransport` wraps the `transports.TimedTransport` (see `client.build_client`), so every
attempt is timed and recorded as a `RequestRecord` of its own: latency
percentiles and error counts stay honest, and a retried request is visible.

What is retried, and what is not:
- only idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE, TRACE), and only
  when the request body can be sent again (no streamed upload);
- connection failures before any answer: `ConnectError` (but not a TLS
  failure: a certificate that does not verify will not start to), `ConnectTimeout`,
  and `RemoteProtocolError` when the server closed the connection without a
  response. Never `ReadTimeout`: a hanging endpoint must not multiply the wait;
- the statuses of the policy (502, 503, 504 by default).

Bounds: at most `retries` more attempts, none started after `deadline_s`
(tenacity's `stop_before_delay`, which cannot overshoot: a wait that would end
past the deadline is not waited). Waits back off exponentially with jitter,
unless the answer says `Retry-After` (seconds or an HTTP date): that is honoured
when it is at most `retry_after_cap_s` and fits before the deadline; otherwise
the answer is handed back at once, not retried. A response is closed before its
request is sent again.

What is reported: only the retries that rescued a request, once it is settled, so
that a test is flaky when a retry changed what it saw (503, then 200), and not
when every attempt got the same failure (a `limit_req` answering 503 each time:
the test saw a 503 whether or not it was retried). Every attempt is still a
`RequestRecord` of its own, so the run's error rate counts the failures a retry
hid from the test.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_result,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)

from pytest_staging import timing
from pytest_staging.http.tls import ssl_error_in
from pytest_staging.phase_log import failed
from pytest_staging.settings.defaults import (
    RETRIES,
    RETRY_AFTER_CAP_S,
    RETRY_DEADLINE_S,
    RETRY_ON,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_staging.settings.resolution import StagingSettings

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 4.0
JITTER_S = 0.5
_DELTA_SECONDS = re.compile(r"[0-9]+")
_NO_RESPONSE = "without sending a response"
"""httpcore's words when the server closed the connection before answering."""


def closed_without_answer(exc: BaseException) -> bool:
    """The server closed the connection before any answer (httpcore says so only in words)."""
    return isinstance(exc, httpx.RemoteProtocolError) and _NO_RESPONSE in str(exc)


@dataclass(frozen=True)
class RetryPolicy:
    """How often, on what and for how long a request is tried again."""

    retries: int = RETRIES
    statuses: frozenset[int] = frozenset(RETRY_ON)
    deadline_s: float = RETRY_DEADLINE_S
    retry_after_cap_s: float = RETRY_AFTER_CAP_S
    backoff_first_s: float = BACKOFF_FIRST_S
    backoff_max_s: float = BACKOFF_MAX_S
    jitter_s: float = JITTER_S


@dataclass(frozen=True)
class Retry:
    """One retry of a rescued request: which attempt failed, how, and the wait before the next."""

    method: str
    path: str
    attempt: int
    cause: str
    """The status code ("503") or the exception's class name ("ConnectError")."""
    wait_s: float


def transient_error(exc: BaseException) -> bool:
    """A failure before any answer that a later attempt may not meet."""
    if isinstance(exc, httpx.ConnectTimeout):
        return True
    if isinstance(exc, httpx.ConnectError):
        return ssl_error_in(exc) is None
    return closed_without_answer(exc)


def retry_after_s(response: httpx.Response, now: datetime | None = None) -> float | None:
    """The wait `Retry-After` asks for (delta-seconds or an HTTP date), or None without a
    usable one. A date in the past asks for no wait."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322, but parsed naive
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or timing.utc_now())).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def rescued(response: httpx.Response, policy: RetryPolicy) -> bool:
    """The answer a retry got is neither a failure (`phase_log.failed`) nor a status retried
    on, as the first attempt's was: the retry changed the outcome. A 503 after a 503, a 500
    after a refused connection, a 429 after a 429 (`--staging-retry-on 429`) changed nothing."""
    status = response.status_code
    return not failed(status) and status not in policy.statuses


def replayable(request: httpx.Request) -> bool:
    """The body is in memory (or absent), so the request can be sent again as it was."""
    return isinstance(request.stream, httpx.ByteStream)


class RetryTransport(httpx.BaseTransport):
    """Retries idempotent requests on transient failures through an inner transport.

    `on_rescue` hears of each retry of a request that a retry rescued (`rescued`), once
    the request is settled; the retries of a request that failed anyway go unreported.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport,
        policy: RetryPolicy,
        on_rescue: Callable[[Retry], None] = lambda retry: None,
        *,
        sleep: Callable[[float], None] = timing.sleep,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._on_rescue = on_rescue
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        policy = self._policy
        if (
            policy.retries < 1
            or request.method not in IDEMPOTENT_METHODS
            or not replayable(request)
        ):
            return self._inner.handle_request(request)
        backoff = wait_exponential(
            multiplier=policy.backoff_first_s, max=policy.backoff_max_s
        ) + wait_random(0, policy.jitter_s)

        def retry_status(response: httpx.Response) -> bool:
            """A retryable status, unless Retry-After asks for more than the cap (a wait past
            the deadline is refused by `stop_before_delay`)."""
            if response.status_code not in policy.statuses:
                return False
            asked = retry_after_s(response)
            return asked is None or asked <= policy.retry_after_cap_s

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome
            if outcome is not None and not outcome.failed:
                asked = retry_after_s(outcome.result())
                if asked is not None:
                    return asked
            return float(backoff(state))

        made: list[Retry] = []

        def before_sleep(state: RetryCallState) -> None:
            assert state.outcome is not None
            if state.outcome.failed:
                cause = type(state.outcome.exception()).__name__
            else:
                answer: httpx.Response = state.outcome.result()
                cause = str(answer.status_code)
                answer.close()  # the attempt's record is complete; the connection is freed
            made.append(
                Retry(
                    request.method,
                    request.url.path,
                    state.attempt_number,
                    cause,
                    state.upcoming_sleep,
                )
            )

        retrying = Retrying(
            stop=stop_after_attempt(policy.retries + 1) | stop_before_delay(policy.deadline_s),
            wait=wait,
            retry=retry_if_exception(transient_error) | retry_if_result(retry_status),
            before_sleep=before_sleep,
            retry_error_callback=_last_outcome,
            sleep=self._sleep,
        )
        response: httpx.Response = retrying(self._inner.handle_request, request)
        if made and rescued(response, policy):
            for retry in made:
                self._on_rescue(retry)
        return response

    def close(self) -> None:
        self._inner.close()


def _last_outcome(state: RetryCallState) -> httpx.Response:
    """Out of attempts or time: the last answer as it is, or the last error raised again."""
    assert state.outcome is not None
    response: httpx.Response = state.outcome.result()
    return response


def retry_policy(settings: StagingSettings) -> RetryPolicy:
    """`--staging-retries` and `--staging-retry-on`; deadline and Retry-After cap fixed."""
    return RetryPolicy(retries=settings.retries, statuses=frozenset(settings.retry_on))
