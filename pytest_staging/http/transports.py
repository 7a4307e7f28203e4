"""The transports of the session client between its retries and httpx's own: timing, and
credentials kept on the target's origin.

- `TimedTransport` times each attempt from send to body close and hands a `RequestRecord`
  to the `PhaseLog`; holds each attempt to its deadline (`deadlines.py`) and its body to
  --staging-max-body (`body_limits.py`);
- `SameOriginCredentials` sends a request to any other origin than the target's (a
  redirect, an absolute URL) without Authorization, Cookie and the `--staging-header` names.

`client.build_client` stacks them.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import httpx

from pytest_staging import timing
from pytest_staging.http.body_limits import BodyMeter, BodyTooLarge
from pytest_staging.http.deadlines import DEADLINE_EXTENSION, Deadline, bounded
from pytest_staging.http.failures import with_wait_named
from pytest_staging.phase_log import PhaseLog, RequestRecord
from pytest_staging.redaction import printable
from pytest_staging.settings.environments import origin

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

CREDENTIAL_HEADERS = ("Authorization", "Cookie")
"""Never sent to another origin than the target's, with the `--staging-header` names."""


class _TimedStream(httpx.SyncByteStream):
    """Wraps a response body so its close (or a read error) ends the measurement; each read
    is held to the request's deadline and each chunk counted against the body's limit."""

    def __init__(
        self,
        inner: httpx.SyncByteStream,
        request: httpx.Request,
        finish: Callable[[str | None], None],
        bounds: Callable[[], contextlib.AbstractContextManager[None]],
        meter: BodyMeter | None,
    ) -> None:
        self._inner = inner
        self._request = request
        self._finish = finish
        self._bounds = bounds
        self._meter = meter
        self._error: str | None = None

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._inner)
        try:
            while True:
                with self._bounds():
                    chunk = next(chunks, None)
                if chunk is None:
                    return
                if self._meter is not None:
                    self._meter.add(chunk)
                yield chunk
        except BodyTooLarge as exc:
            self._error = type(exc).__name__
            raise
        except httpx.TransportError as exc:
            self._error = type(exc).__name__
            named = with_wait_named(exc, self._request)
            if named is exc:
                raise
            raise named from exc

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._finish(self._error)


class TimedTransport(httpx.BaseTransport):
    """Times every request through an inner transport into a `PhaseLog`, holds its whole
    exchange to a deadline (only through a pool that reads via `deadlines.DeadlineBackend`)
    and its body to a size."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        log: PhaseLog,
        clock: Callable[[], float] = timing.monotonic,
        *,
        deadline_s: float | None = None,
        max_body: int | None = None,
    ) -> None:
        self._inner = inner
        self._log = log
        self._clock = clock
        self._deadline_s = deadline_s
        self._max_body = max_body

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = self._clock()
        method, path = request.method, printable(request.url.path)
        bounds = self._bounds(request, start)

        def elapsed_ms() -> float:
            return round((self._clock() - start) * 1000, 3)

        try:
            with bounds():
                response = self._inner.handle_request(request)
        except httpx.TransportError as exc:
            self._log.add_request(
                RequestRecord(method, path, None, elapsed_ms(), type(exc).__name__)
            )
            named = with_wait_named(exc, request)
            if named is exc:
                raise
            raise named from exc
        done = False

        def finish(error: str | None) -> None:
            nonlocal done
            if not done:
                done = True
                record = RequestRecord(method, path, response.status_code, elapsed_ms(), error)
                self._log.add_request(record, response)

        assert isinstance(response.stream, httpx.SyncByteStream)
        meter = None if self._max_body is None else BodyMeter(response, request, self._max_body)
        response.stream = _TimedStream(response.stream, request, finish, bounds, meter)
        return response

    def _bounds(
        self, request: httpx.Request, start: float
    ) -> Callable[[], contextlib.AbstractContextManager[None]]:
        """The deadline of this request (its own extension, else the transport's) as a
        context to read in; no bounds without either."""
        deadline = request.extensions.get(DEADLINE_EXTENSION)
        if not isinstance(deadline, Deadline):
            if self._deadline_s is None:
                return contextlib.nullcontext
            deadline = request.extensions[DEADLINE_EXTENSION] = Deadline(self._deadline_s)
        ends = start + deadline.seconds
        return lambda: bounded(ends, self._clock)

    def close(self) -> None:
        self._inner.close()


class SameOriginCredentials(httpx.BaseTransport):
    """Sends credentials only to the target's origin.

    httpx drops `Authorization` when a redirect leaves the origin, but not cookies
    or custom headers (an API key in `--staging-header`). Here every request, a
    redirect hop or an absolute URL alike, goes to another origin without them.
    """

    def __init__(
        self, inner: httpx.BaseTransport, target_url: str, secret_headers: Iterable[str] = ()
    ) -> None:
        self._inner = inner
        self._origin = origin(target_url)
        self._names = tuple(
            dict.fromkeys(n.lower() for n in (*CREDENTIAL_HEADERS, *secret_headers))
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if origin(request.url) != self._origin:
            for name in self._names:
                if name in request.headers:
                    del request.headers[name]
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
