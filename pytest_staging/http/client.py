"""The session-wide `httpx.Client`: pooled, TLS-aware, authenticated, timed and retried.

The transports, outermost first:
- `RetryTransport` (retrying.py): idempotent requests are tried again on
  connection failures and 502/503/504, bounded in count and time; only for
  clients whose retries can be reported (see `build_client`);
- `TimedTransport`: times each attempt from send to body close and hands a
  `RequestRecord` to the `PhaseLog`; holds each attempt to its deadline
  (`--staging-request-deadline`) and its body to `--staging-max-body`;
- `SameOriginCredentials`: a request to any other origin than the target's
  (a redirect, an absolute URL) leaves without Authorization, Cookie and the
  `--staging-header` names;
- httpx's `HTTPTransport`. The client sets `trust_env=False` and takes the proxy
  for the target from the environment itself, so proxied requests are timed
  by the same transport. Its connection pool reads and writes through
  `_DeadlineBackend`, the one place every byte passes.

httpx's timeouts bound each wait (a connect, one read), never the whole exchange: a
target that drips its headers or body a byte at a time, each within the timeout, holds a
request for ever. The deadline caps every wait at the time left, headers included.

A request that gets no usable answer raises httpx's own exception (retries and
`pytest.raises` see what they expect); `failure_line` says the same in one line
naming the request, the cause and what to check, which is what a failed test's
report shows (see `carrier.py`).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import socket
import ssl
import threading
import urllib.request
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpcore
import httpx

from pytest_staging import timing
from pytest_staging.http.readiness import certificate_problem
from pytest_staging.http.retrying import RetryPolicy, RetryTransport, closed_without_answer
from pytest_staging.http.target import address
from pytest_staging.http.tls import cause_of
from pytest_staging.phase_log import PhaseLog, RequestRecord
from pytest_staging.redaction import printable, shown
from pytest_staging.run.masking import wire_event_hooks

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator

    from pytest_staging.http.target import StagingTarget
    from pytest_staging.settings.resolution import StagingSettings

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
    deadline = request.extensions.get(DEADLINE_EXTENSION)
    if isinstance(deadline, Deadline) and cause_of(exc, DeadlinePassed) is not None:
        return f"no complete answer within {round(deadline.seconds, 2):g} s ({deadline.option})"
    seconds = request.extensions.get("timeout", {}).get(phase)
    waited = f"{seconds:g} s" if isinstance(seconds, int | float) else "the timeout"
    return f"no answer within {waited} ({phase} timeout, --staging-timeout)"


def _named(exc: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    """A timeout that says which request waited and how long, same type, so retries and
    `pytest.raises` see what they expect; other errors are returned as they are."""
    waited = _timeout(exc, request)
    if waited is None:
        return exc
    said = "" if cause_of(exc, DeadlinePassed) else f": {exc}"  # httpx's "timed out"
    return type(exc)(f"{_request_name(request)}: {waited}{said}", request=request)


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
    request = _request_of(exc)
    if request is None:
        return shown(f"{type(exc).__name__}: {exc}")
    return shown(f"{_request_name(request)}: {_cause(exc, request)}")


def failure_cause(exc: BaseException) -> str | None:
    """`failure_line` without the request, for a caller that names it (the readiness wait):
    `connection refused by 127.0.0.1:8001: is the service running, ...`."""
    if not isinstance(exc, httpx.RequestError):
        return None
    request = _request_of(exc)
    return shown(str(exc) if request is None else _cause(exc, request))


def _request_of(exc: httpx.RequestError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:  # raised without its request (never by httpx's client)
        return None


# --- the whole exchange's deadline ---------------------------------------------------------

DEADLINE_TIMEOUTS = 3
"""--staging-request-deadline's default, in multiples of --staging-timeout: room for a
connect, the headers and a body that each take close to the timeout, not for a drip."""
DEADLINE_EXTENSION = "pytest_staging.deadline"
"""A request extension holding its `Deadline`, set by `TimedTransport` unless the caller did
(the readiness probe gives each attempt its share of --staging-wait)."""


@dataclass(frozen=True)
class Deadline:
    """How long a request's whole exchange may take (connect, headers, body), and the option
    a failure names."""

    seconds: float
    option: str = "--staging-request-deadline"


class DeadlinePassed(httpcore.ReadTimeout):
    """A read, write or connect found the request's deadline passed; httpx raises it as its
    `ReadTimeout` (`failure_line` tells it from httpx's own by this cause)."""


_current = threading.local()
"""The deadline (`ends`, `clock`) of the request this thread is sending or reading, if any:
httpx's sync client does every read of a request in the thread that made it."""


def request_deadline(settings: StagingSettings) -> float:
    """--staging-request-deadline, by default a small multiple of --staging-timeout."""
    if settings.request_deadline is not None:
        return settings.request_deadline
    return DEADLINE_TIMEOUTS * settings.timeout


@contextlib.contextmanager
def _bounded(ends: float, clock: Callable[[], float]) -> Generator[None]:
    """Every network wait of this thread, inside the block, ends by `ends`."""
    previous = getattr(_current, "deadline", None)
    _current.deadline = (ends, clock)
    try:
        yield
    finally:
        _current.deadline = previous


def _left() -> float | None:
    """The seconds the current request has left (none: it has no deadline)."""
    deadline = getattr(_current, "deadline", None)
    if deadline is None:
        return None
    ends, clock = deadline
    left: float = ends - clock()
    return left


def _within(timeout: float | None) -> float | None:
    """`timeout` cut to the time the current request has left; DeadlinePassed at none."""
    left = _left()
    if left is None:
        return timeout
    if left <= 0:
        raise DeadlinePassed("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


@contextlib.contextmanager
def _deadline_told() -> Generator[None]:
    """A wait cut short by the deadline raises DeadlinePassed, not a plain timeout."""
    try:
        yield
    except httpcore.TimeoutException as exc:
        left = _left()
        if isinstance(exc, DeadlinePassed) or left is None or left > 0:
            raise
        raise DeadlinePassed("the request's deadline passed") from exc


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most the time its request has left."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _deadline_told():
            return self._inner.read(max_bytes, _within(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _deadline_told():
            self._inner.write(buffer, _within(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        with _deadline_told():
            tls = self._inner.start_tls(ssl_context, server_hostname, _within(timeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with `_DeadlineStream` connections."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        with _deadline_told():
            stream = self._inner.connect_tcp(
                host, port, _within(timeout), local_address, socket_options
            )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        with _deadline_told():
            stream = self._inner.connect_unix_socket(path, _within(timeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _with_deadlines(transport: httpx.HTTPTransport) -> httpx.HTTPTransport:
    """`transport` with its pool connecting through `_DeadlineBackend`. httpx builds the pool
    (proxied or not) and offers no backend argument, so its private pool is reached here,
    once; tests/test_deadlines.py fails if httpx moves it."""
    pool = transport._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


# --- the body's size --------------------------------------------------------------------------

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
"""--staging-max-body's default: far above any answer a staging check reads (JSON, pages,
metrics), while a test that keeps a few such bodies, on each xdist worker, still fits a CI
runner's memory. A decompression bomb (10 MB of gzip that inflate to 10 GB) stops here."""
_METER_STEP = 256 * 1024
"""The most a body's meter inflates at once: it never holds more than this."""


class BodyTooLarge(httpx.RequestError):
    """An answer's body is larger than --staging-max-body once decompressed."""


def max_body_bytes(settings: StagingSettings) -> int:
    """--staging-max-body, in bytes."""
    return DEFAULT_MAX_BODY_BYTES if settings.max_body is None else settings.max_body


class _Inflater:
    """gzip or deflate (zlib, or raw as some servers send it, like httpx), inflated a step at
    a time."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding == "gzip"
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)
        self._first = not self._gzip

    def pieces(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                piece = self._inflate.decompress(data, _METER_STEP)
            except zlib.error:
                if not self._first:
                    raise
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                piece = self._inflate.decompress(data, _METER_STEP)
            self._first = False
            yield piece
            data = self._inflate.unconsumed_tail


class _Unbrotli:
    """br, a step at a time."""

    def __init__(self, brotli: Any) -> None:
        self._decompress = brotli.Decompressor()

    def pieces(self, data: bytes) -> Iterator[bytes]:
        yield self._decompress.process(data, output_buffer_limit=_METER_STEP)
        while not self._decompress.can_accept_more_data():
            yield self._decompress.process(b"", output_buffer_limit=_METER_STEP)


def _brotli() -> Any:
    """The `brotli` module httpx decodes br with, if it can inflate in bounded steps (1.1+)."""
    try:
        import brotli  # type: ignore[import-untyped]  # it ships no type information
    except ImportError:
        return None
    return brotli if hasattr(brotli.Decompressor, "can_accept_more_data") else None


@functools.cache
def _meterable() -> dict[str, Callable[[str], Any]]:
    """The encodings the meter can inflate in bounded steps, which are the ones the client
    asks for in Accept-Encoding."""
    stages: dict[str, Callable[[str], Any]] = {"gzip": _Inflater, "deflate": _Inflater}
    brotli = _brotli()
    if brotli is not None:
        stages["br"] = lambda _: _Unbrotli(brotli)
    return stages


class _BodyMeter:
    """Counts a body's size as the test will read it, decompressed, without keeping it.

    Each raw chunk is measured before httpx decodes it, so httpx never inflates more than
    the limit. An encoding the meter cannot inflate is counted as received (httpx does not
    decode it either: Accept-Encoding asks only for the meterable ones); a body that does
    not inflate is left to httpx, whose DecodingError says so."""

    def __init__(self, response: httpx.Response, request: httpx.Request, limit: int) -> None:
        stages = _meterable()
        encodings = [
            name.strip().lower()
            for name in response.headers.get_list("content-encoding", split_commas=True)
        ]
        self._stages = [stages[name](name) for name in reversed(encodings) if name in stages]
        self._request = request
        self._limit = limit
        self._size = 0
        self._broken = False

    def add(self, chunk: bytes) -> None:
        """Count `chunk`; BodyTooLarge once the body is over the limit."""
        if self._broken:
            return
        try:
            for piece in self._inflated(chunk, 0):
                self._size += len(piece)
                if self._size > self._limit:
                    raise self._too_large()
        except BodyTooLarge:
            raise
        except Exception:  # zlib.error, brotli.error: httpx's DecodingError will say so
            self._broken = True

    def _inflated(self, data: bytes, stage: int) -> Iterator[bytes]:
        if stage == len(self._stages):
            yield data
            return
        for piece in self._stages[stage].pieces(data):
            yield from self._inflated(piece, stage + 1)

    def _too_large(self) -> BodyTooLarge:
        over = f"the body is over {_size(self._limit)}"
        if self._stages:
            over += " decompressed (--staging-max-body): a decompression bomb?"
        else:
            over += " (--staging-max-body):"
        return BodyTooLarge(
            f"{over} if the answer is meant to be this large, raise the limit",
            request=self._request,
        )


def _size(count: int) -> str:
    mib = count / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{count} bytes"


def accept_encoding() -> str:
    """What the client asks for: only the encodings the body meter can measure."""
    return ", ".join(_meterable())


_DETAIL_CHARS = 200
_CAUSES: tuple[tuple[type[httpx.RequestError], str], ...] = (
    (httpx.TooManyRedirects, "too many redirects (a loop?): check where the service redirects it"),
    (BodyTooLarge, "{detail}"),
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
    where = address(url.host, origin(url)[2])
    detail = str(exc)[:_DETAIL_CHARS] or type(exc).__name__
    if isinstance(exc, httpx.TransportError) and (waited := _timeout(exc, request)):
        return waited
    template = next((text for kind, text in _CAUSES if isinstance(exc, kind)), None)
    if template is not None:
        return template.format(where=where, detail=detail)
    if isinstance(exc, httpx.RemoteProtocolError):
        return _protocol_cause(exc, where, detail)
    return _network_cause(exc, cause_of(exc, OSError), url.host, where, detail)


def _protocol_cause(exc: httpx.RemoteProtocolError, where: str, detail: str) -> str:
    if closed_without_answer(exc):
        return (
            f"{where} closed the connection without answering: did the service crash or "
            "restart? check its logs"
        )
    if "complete message body" in str(exc):
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


class _TimedStream(httpx.SyncByteStream):
    """Wraps a response body so its close (or a read error) ends the measurement; each read
    is held to the request's deadline and each chunk counted against the body's limit."""

    def __init__(
        self,
        inner: httpx.SyncByteStream,
        request: httpx.Request,
        finish: Callable[[str | None], None],
        bounds: Callable[[], contextlib.AbstractContextManager[None]],
        meter: _BodyMeter | None,
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
    """Times every request through an inner transport into a `PhaseLog`, holds its whole
    exchange to a deadline (only through a pool that reads via `_DeadlineBackend`) and its
    body to a size."""

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
                self._log.add_request(record, response)

        assert isinstance(response.stream, httpx.SyncByteStream)
        meter = None if self._max_body is None else _BodyMeter(response, request, self._max_body)
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
        return lambda: _bounded(ends, self._clock)

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
    log: PhaseLog,
    *,
    retry: bool = False,
) -> httpx.Client:
    """One pooled client for the whole session, every request (each attempt) timed into `log`.

    With `retry`, transient failures are tried again (`--staging-retries`) and each retry
    that rescued a request is reported to `log`, so a test that needed one is listed as
    flaky. A client without it, like the readiness probe's, does not retry:
    `--staging-wait` is its retry loop.
    """
    inner = _with_deadlines(
        httpx.HTTPTransport(verify=tls_verify(settings), proxy=proxy_for(target.url))
    )
    secret_names = [name for name, _ in settings.headers]
    transport: httpx.BaseTransport = TimedTransport(
        SameOriginCredentials(inner, target.url, secret_names),
        log,
        deadline_s=request_deadline(settings),
        max_body=max_body_bytes(settings),
    )
    if retry and settings.retries > 0:
        transport = RetryTransport(transport, retry_policy(settings), lambda _: log.add_retry())
    auth = None
    if target.username is not None and target.password is not None:
        auth = httpx.BasicAuth(target.username, target.password.reveal())
    return httpx.Client(
        base_url=target.url,
        headers={"Accept-Encoding": accept_encoding(), **default_headers(settings)},
        auth=auth,
        timeout=settings.timeout,
        transport=transport,
        trust_env=False,
        event_hooks=wire_event_hooks(),
    )
