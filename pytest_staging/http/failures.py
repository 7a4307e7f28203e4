"""One line for a request that got no usable answer: the request, the cause, what to check.

A request that gets no usable answer raises httpx's own exception (retries and
`pytest.raises` see what they expect); `failure_line` says the same in one line, e.g.
`GET /api/items: connection refused by 127.0.0.1:8001: is the service running, is
--staging-url right?`, which is what a failed test's report shows (see
`run/report_data.py`); `failure_cause` is the same without the request, for the readiness
wait and the login, which name it themselves.

httpx says only "timed out" for a timeout: `with_wait_named` gives the exception the
request's name, what it waited for and how long, keeping its type.
"""

from __future__ import annotations

import errno
import socket
import ssl

import httpx

from pytest_staging.http.body_limits import BodyTooLarge
from pytest_staging.http.deadlines import DEADLINE_EXTENSION, Deadline, DeadlinePassed
from pytest_staging.http.retrying import closed_without_answer
from pytest_staging.http.target import address
from pytest_staging.http.tls import cause_of, certificate_problem
from pytest_staging.redaction import printable, shown
from pytest_staging.settings.environments import origin

_TIMEOUT_PHASES: dict[type[httpx.TimeoutException], str] = {
    httpx.ConnectTimeout: "connect",
    httpx.ReadTimeout: "read",
    httpx.WriteTimeout: "write",
    httpx.PoolTimeout: "pool",
}
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
    return shown(f"{request_name(request)}: {_cause(exc, request)}")


def failure_cause(exc: BaseException) -> str | None:
    """`failure_line` without the request, for a caller that names it (the readiness wait):
    `connection refused by 127.0.0.1:8001: is the service running, ...`."""
    if not isinstance(exc, httpx.RequestError):
        return None
    request = _request_of(exc)
    return shown(str(exc) if request is None else _cause(exc, request))


def request_name(request: httpx.Request) -> str:
    """Method and path: never the query string or the URL's credentials; the path, which a
    redirect lets the target choose, `printable`."""
    return f"{request.method} {printable(request.url.path)}"


def with_wait_named(exc: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    """A timeout that says which request waited and how long, same type, so retries and
    `pytest.raises` see what they expect; other errors are returned as they are."""
    waited = _waited(exc, request)
    if waited is None:
        return exc
    said = "" if cause_of(exc, DeadlinePassed) else f": {exc}"  # httpx's "timed out"
    return type(exc)(f"{request_name(request)}: {waited}{said}", request=request)


def _waited(exc: httpx.TransportError, request: httpx.Request) -> str | None:
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


def _request_of(exc: httpx.RequestError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:  # raised without its request (never by httpx's client)
        return None


def _cause(exc: httpx.RequestError, request: httpx.Request) -> str:
    url = request.url
    where = address(url.host, origin(url)[2])
    detail = str(exc)[:_DETAIL_CHARS] or type(exc).__name__
    if isinstance(exc, httpx.TransportError) and (waited := _waited(exc, request)):
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
