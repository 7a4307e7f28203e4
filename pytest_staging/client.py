"""The session-wide `httpx.Client`: pooled, TLS-aware, authenticated, timed and retried.

The transports, outermost first:
- `RetryTransport` (retrying.py): idempotent requests are tried again on
  connection failures and 502/503/504, bounded in count and time; only for
  clients whose retries can be reported (see `build_client`);
- `TimedTransport`: times each attempt from send to body close and hands a
  `RequestRecord` to the `RequestLog`;
- `SameOriginCredentials`: a request to any other origin than the target's
  (a redirect, an absolute URL) leaves without Authorization, Cookie and the
  `--staging-header` names;
- httpx's `HTTPTransport`. The client sets `trust_env=False` and takes the proxy
  for the target from the environment itself, so proxied requests are timed
  by the same transport.

A request that gets no usable answer raises httpx's own exception (retries and
`pytest.raises` see what they expect); `failure_line` says the same in one line
naming the request, the cause and what to check, which is what a failed test's
report shows (see `carrier.py`).
"""

from __future__ import annotations

import errno
import socket
import ssl
import urllib.request
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from pytest_staging import timing
from pytest_staging.readiness import certificate_problem
from pytest_staging.recording import RequestLog, RequestRecord
from pytest_staging.redaction import printable, shown
from pytest_staging.retrying import _NO_RESPONSE, RetryPolicy, RetryTransport
from pytest_staging.sinks import wire_event_hooks

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from pytest_staging.evidence import EvidenceLog
    from pytest_staging.settings import StagingSettings
    from pytest_staging.target import StagingTarget

USER_AGENT = "pytest-staging"


_TIMEOUT_PHASES: dict[type[httpx.TimeoutException], str] = {
    httpx.ConnectTimeout: "connect",
    httpx.ReadTimeout: "read",
    httpx.WriteTimeout: "write",
    httpx.PoolTimeout: "pool",
}


def _timeout(exc: httpx.TransportError, request: httpx.Request) -> str | None:
    """What a timeout waited for (httpx says only "timed out"), or None for other errors."""
    phase = next((name for kind, name in _TIMEOUT_PHASES.items() if isinstance(exc, kind)), None)
    if phase is None:
        return None
    seconds = request.extensions.get("timeout", {}).get(phase)
    waited = f"{seconds:g} s" if isinstance(seconds, int | float) else "the timeout"
    return f"no answer within {waited} ({phase} timeout, --staging-timeout)"


def _named(exc: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    """A timeout that says which request waited and how long, same type, so retries and
    `pytest.raises` see what they expect; other errors are returned as they are."""
    waited = _timeout(exc, request)
    if waited is None:
        return exc
    return type(exc)(f"{_request_name(request)}: {waited}: {exc}", request=request)


def _request_name(request: httpx.Request) -> str:
    """Method and path: never the query string or the URL's credentials; the path, which a
    redirect lets the target choose, `printable`."""
    return f"{request.method} {printable(request.url.path)}"


def failure_line(exc: BaseException) -> str | None:
    """One line for a request that got no usable answer, or None if `exc` is not httpx's
    `RequestError`: the request, the cause and what to check, e.g. `GET /api/items:
    connection refused by 127.0.0.1:8001: is the service running, is --staging-url right?`.
    Text the target sent (a broken status line) is masked and `printable`."""
    if not isinstance(exc, httpx.RequestError):
        return None
    try:
        request = exc.request
    except RuntimeError:  # raised without its request (never by httpx's client)
        return shown(f"{type(exc).__name__}: {exc}")
    return shown(f"{_request_name(request)}: {_cause(exc, request)}")


_DETAIL_CHARS = 200
_CAUSES: tuple[tuple[type[httpx.RequestError], str], ...] = (
    (httpx.TooManyRedirects, "too many redirects (a loop?): check where the service redirects it"),
    (
        httpx.DecodingError,
        "the answer of {where} could not be decoded ({detail}): check the Content-Encoding "
        "and charset it sends",
    ),
    (httpx.UnsupportedProtocol, "{detail}: the URL must start with http:// or https://"),
    (httpx.ProxyError, "the proxy failed ({detail}): check HTTP_PROXY, HTTPS_PROXY and NO_PROXY"),
    (
        httpx.LocalProtocolError,
        "the request is not valid HTTP ({detail}): check its headers and --staging-header",
    ),
)
"""Errors whose class alone says what happened; the others are told by what lies behind."""


def _cause(exc: httpx.RequestError, request: httpx.Request) -> str:
    url = request.url
    host = f"[{url.host}]" if ":" in url.host else url.host
    where = f"{host}:{origin(url)[2]}"
    detail = str(exc)[:_DETAIL_CHARS] or type(exc).__name__
    if isinstance(exc, httpx.TransportError) and (waited := _timeout(exc, request)):
        return waited
    template = next((text for kind, text in _CAUSES if isinstance(exc, kind)), None)
    if template is not None:
        return template.format(where=where, detail=detail)
    if isinstance(exc, httpx.RemoteProtocolError):
        return _protocol_cause(str(exc), where, detail)
    return _network_cause(exc, _os_error_in(exc), url.host, where, detail)


def _protocol_cause(message: str, where: str, detail: str) -> str:
    if _NO_RESPONSE in message:
        return (
            f"{where} closed the connection without answering: did the service crash or "
            "restart? check its logs"
        )
    if "complete message body" in message:
        return (
            f"{where} closed the connection before the whole answer arrived ({detail}): "
            "check the service's logs"
        )
    return (
        f"{where} answered with something that is not HTTP ({detail}): is it an HTTP "
        "server, is the URL's scheme right?"
    )


def _network_cause(
    exc: httpx.RequestError, cause: OSError | None, host: str, where: str, detail: str
) -> str:
    if isinstance(cause, ssl.SSLError):
        return certificate_problem(cause) or (
            f"the TLS handshake with {where} failed ({cause.reason or detail}): does it speak "
            "HTTPS on that port, is the URL's scheme right?"
        )
    if isinstance(cause, socket.gaierror):
        return f"the host {host} was not found ({cause.strerror}): is --staging-url right?"
    code = None if cause is None else cause.errno
    if code == errno.ECONNREFUSED:
        return f"connection refused by {where}: is the service running, is --staging-url right?"
    if code == errno.ECONNRESET:
        return f"connection reset by {where}: did the service crash or restart? check its logs"
    if isinstance(exc, httpx.ConnectError):
        return f"no connection to {where} ({detail}): is the host reachable from here?"
    return f"the connection to {where} broke ({detail}): check the service's logs"


def _os_error_in(exc: BaseException) -> OSError | None:
    """The operating system's error behind `exc` (httpx and httpcore wrap it; a TLS error is
    one too), if any; a chain that loops back on itself ends the search."""
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


class _TimedStream(httpx.SyncByteStream):
    """Wraps a response body so its close (or a read error) ends the measurement."""

    def __init__(
        self,
        inner: httpx.SyncByteStream,
        request: httpx.Request,
        finish: Callable[[str | None], None],
    ) -> None:
        self._inner = inner
        self._request = request
        self._finish = finish
        self._error: str | None = None

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._inner
        except httpx.TransportError as exc:
            self._error = type(exc).__name__
            named = _named(exc, self._request)
            if named is exc:
                raise
            raise named from exc

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
        method, path = request.method, printable(request.url.path)

        def elapsed_ms() -> float:
            return round((self._clock() - start) * 1000, 3)

        try:
            response = self._inner.handle_request(request)
        except httpx.TransportError as exc:
            self._log.add(RequestRecord(method, path, None, elapsed_ms(), type(exc).__name__))
            named = _named(exc, request)
            if named is exc:
                raise
            raise named from exc
        done = False

        def finish(error: str | None) -> None:
            nonlocal done
            if not done:
                done = True
                record = RequestRecord(method, path, response.status_code, elapsed_ms(), error)
                self._log.add(record, response)

        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _TimedStream(response.stream, request, finish)
        return response

    def close(self) -> None:
        self._inner.close()


Origin = tuple[str, str, int | None]

_DEFAULT_PORTS = {"http": 80, "https": 443}
CREDENTIAL_HEADERS = ("Authorization", "Cookie")
"""Never sent to another origin than the target's, with the `--staging-header` names."""


def origin(url: httpx.URL) -> Origin:
    """Scheme, host and port (the default port filled in): what must match to share secrets."""
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme)


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
        self._origin = origin(httpx.URL(target_url))
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


def retry_policy(settings: StagingSettings) -> RetryPolicy:
    """`--staging-retries` and `--staging-retry-on`; deadline and Retry-After cap fixed."""
    return RetryPolicy(retries=settings.retries, statuses=frozenset(settings.retry_on))


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
    *,
    evidence: EvidenceLog | None = None,
) -> httpx.Client:
    """One pooled client for the whole session, every request (each attempt) timed into `log`.

    Retries (`--staging-retries`) are made only where they are reported to `evidence`, so a
    test that needed one is listed as flaky. A client without it, like the readiness
    probe's, does not retry: `--staging-wait` is its retry loop.
    """
    inner = httpx.HTTPTransport(verify=tls_verify(settings), proxy=proxy_for(target.url))
    secret_names = [name for name, _ in settings.headers]
    transport: httpx.BaseTransport = TimedTransport(
        SameOriginCredentials(inner, target.url, secret_names), log
    )
    if evidence is not None and settings.retries > 0:
        report = evidence
        transport = RetryTransport(transport, retry_policy(settings), lambda _: report.add_retry())
    auth = None
    if target.username is not None and target.password is not None:
        auth = httpx.BasicAuth(target.username, target.password.reveal())
    return httpx.Client(
        base_url=target.url,
        headers=default_headers(settings),
        auth=auth,
        timeout=settings.timeout,
        transport=transport,
        trust_env=False,
        event_hooks=wire_event_hooks(),
    )
