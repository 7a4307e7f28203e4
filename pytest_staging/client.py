"""The session-wide `httpx.Client`: pooled, TLS-aware, authenticated and timed.

Every request goes through `TimedTransport`, which times it from send to
body close and hands a `RequestRecord` to the `RequestLog`. The client sets
`trust_env=False` and takes the proxy for the target from the environment
itself, so proxied requests are timed by the same transport.
"""

from __future__ import annotations

import ssl
import urllib.request
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from pytest_staging import timing
from pytest_staging.recording import RequestLog, RequestRecord

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pytest_staging.settings import StagingSettings
    from pytest_staging.target import StagingTarget

USER_AGENT = "pytest-staging"


class _TimedStream(httpx.SyncByteStream):
    """Wraps a response body so its close (or a read error) ends the measurement."""

    def __init__(self, inner: httpx.SyncByteStream, finish: Callable[[str | None], None]) -> None:
        self._inner = inner
        self._finish = finish
        self._error: str | None = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._inner
        except httpx.TransportError as exc:
            self._error = type(exc).__name__
            raise

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._finish(self._error)


class TimedTransport(httpx.BaseTransport):
    """Times every request through an inner transport into a `RequestLog`."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        log: RequestLog,
        clock: Callable[[], float] = timing.monotonic,
    ) -> None:
        self._inner = inner
        self._log = log
        self._clock = clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = self._clock()
        method, path = request.method, request.url.path

        def elapsed_ms() -> float:
            return round((self._clock() - start) * 1000, 3)

        try:
            response = self._inner.handle_request(request)
        except httpx.TransportError as exc:
            self._log.add(RequestRecord(method, path, None, elapsed_ms(), type(exc).__name__))
            raise
        done = False

        def finish(error: str | None) -> None:
            nonlocal done
            if not done:
                done = True
                record = RequestRecord(method, path, response.status_code, elapsed_ms(), error)
                self._log.add(record, response)

        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _TimedStream(response.stream, finish)
        return response

    def close(self) -> None:
        self._inner.close()


def tls_verify(settings: StagingSettings) -> ssl.SSLContext | bool:
    """What to verify the target's certificate against (httpx honours SSL_CERT_FILE)."""
    if settings.insecure:
        return False
    if settings.ca_bundle is not None:
        return ssl.create_default_context(cafile=str(settings.ca_bundle))
    return True


def proxy_for(url: str) -> str | None:
    """The proxy the environment asks for to reach `url`, unless NO_PROXY exempts it."""
    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies_environment().get(parts.scheme)


def default_headers(settings: StagingSettings) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT}
    if settings.token is not None:
        headers["Authorization"] = f"Bearer {settings.token.reveal()}"
    headers.update((name, value.reveal()) for name, value in settings.headers)
    return headers


def build_client(
    settings: StagingSettings,
    target: StagingTarget,
    log: RequestLog,
) -> httpx.Client:
    """One pooled client for the whole session, every request timed into `log`."""
    inner = httpx.HTTPTransport(verify=tls_verify(settings), proxy=proxy_for(target.url))
    auth = None
    if target.username is not None and target.password is not None:
        auth = httpx.BasicAuth(target.username, target.password.reveal())
    return httpx.Client(
        base_url=target.url,
        headers=default_headers(settings),
        auth=auth,
        timeout=settings.timeout,
        transport=TimedTransport(inner, log),
        trust_env=False,
    )
