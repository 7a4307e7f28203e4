"""A plain JSON API on loopback, over HTTP or HTTPS, for proving the suites beyond the demo.

Only the standard library serves it, so it shares no code, framework or response envelope with
the bundled Starlette demo: a suite that passes against both is not tied to either.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import ssl
import sys
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from hmac import compare_digest
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar
from urllib.parse import parse_qs, urlsplit

import trustme

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable, Iterator
    from datetime import datetime
    from pathlib import Path

BUILD = "2.3.4"
SEED_THING_COUNT = 12
DEFAULT_PAGE_SIZE = 10
HSTS = "max-age=63072000"
MAX_BODY_BYTES = 64 * 1024
# A silent client ties up a request thread for at most this long, which bounds the join on close.
REQUEST_TIMEOUT_S = 5.0

_LOOPBACK = "127.0.0.1"
_DIGITS = re.compile(r"[0-9]+")
_THING_PATH = re.compile(r"/v1/things/([0-9]+)")

_S = TypeVar("_S", bound=ThreadingHTTPServer)


class Thing(TypedDict):
    id: int
    title: str


@dataclass(frozen=True)
class TlsOptions:
    """Serve over HTTPS with a throwaway CA whose PEM file is written into `directory`.

    `not_after` ends the server certificate's validity, to test expiry warnings.
    """

    directory: Path
    not_after: datetime | None = None


@dataclass(frozen=True)
class PlainApi:
    """Where a running plain API answers; `http_port` and `ca_pem` are set only under TLS.

    `http_port` is a plain-HTTP loopback listener that redirects every request to `url`.
    """

    url: str
    http_port: int | None = None
    ca_pem: Path | None = None


@dataclass(frozen=True)
class _Reply:
    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)


_NOT_FOUND = _Reply(HTTPStatus.NOT_FOUND, {"detail": "not found"})
_UNAUTHORISED = _Reply(
    HTTPStatus.UNAUTHORIZED,
    {"detail": "authentication required"},
    {"WWW-Authenticate": 'Basic realm="plain-api"'},
)


class _Things:
    """The API's records; request threads share them, so every access holds the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._titles = {number: f"Thing {number}" for number in range(1, SEED_THING_COUNT + 1)}
        self._next_id = SEED_THING_COUNT + 1

    def page(self, page: int, size: int) -> tuple[list[Thing], int]:
        with self._lock:
            ids = sorted(self._titles)[(page - 1) * size : page * size]
            return [Thing(id=id_, title=self._titles[id_]) for id_ in ids], len(self._titles)

    def get(self, thing_id: int) -> Thing | None:
        with self._lock:
            title = self._titles.get(thing_id)
        return None if title is None else Thing(id=thing_id, title=title)

    def add(self, title: str) -> Thing:
        with self._lock:
            thing_id, self._next_id = self._next_id, self._next_id + 1
            self._titles[thing_id] = title
        return Thing(id=thing_id, title=title)

    def remove(self, thing_id: int) -> bool:
        with self._lock:
            return self._titles.pop(thing_id, None) is not None


class _Listener(ThreadingHTTPServer):
    """A loopback listener, optionally TLS, whose close waits for its request threads."""

    daemon_threads = False

    def __init__(
        self, handler: type[BaseHTTPRequestHandler], ssl_context: ssl.SSLContext | None
    ) -> None:
        super().__init__((_LOOPBACK, 0), handler)
        self.tls = ssl_context is not None
        if ssl_context is not None:
            # The handshake then runs in the request thread: a stalled client cannot block accept.
            self.socket = ssl_context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        """A client hanging up or refusing the certificate is its own business, not a traceback."""
        if not isinstance(sys.exception(), OSError):
            super().handle_error(request, client_address)


class _PlainApiServer(_Listener):
    def __init__(
        self,
        *,
        username: str,
        password: str,
        fail_health: bool,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        super().__init__(_PlainApiHandler, ssl_context)
        self.username = username
        self.password = password
        self.fail_health = fail_health
        self.things = _Things()


class _RedirectServer(_Listener):
    def __init__(self, target: str) -> None:
        super().__init__(_RedirectHandler, None)
        self.target = target


class _JsonHandler(BaseHTTPRequestHandler):
    """What both listeners share: JSON answers, security headers, one request per connection.

    Closing every connection keeps request threads short, so closing the server can join them.
    """

    protocol_version = "HTTP/1.1"
    server_version = "plain-api"
    timeout = REQUEST_TIMEOUT_S
    server: _Listener

    def version_string(self) -> str:
        """The product name alone: a version in the Server header is what suites flag."""
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Even the parser's own rejections (bad request line, unknown method) answer in JSON."""
        self._send(_Reply(code, {"detail": message or HTTPStatus(code).phrase}))

    def do_GET(self) -> None:
        length = self.headers.get("Content-Length", "0")
        if not _DIGITS.fullmatch(length):
            self._send(_Reply(HTTPStatus.BAD_REQUEST, {"detail": "bad Content-Length"}))
        elif int(length) > MAX_BODY_BYTES:
            self._send(_Reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"detail": "body too large"}))
        else:
            self._send(self.answer(self.rfile.read(int(length))))

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def answer(self, body: bytes) -> _Reply:
        raise NotImplementedError

    def _send(self, reply: _Reply) -> None:
        headers = {
            "Content-Type": "application/json",
            "Connection": "close",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "SAMEORIGIN",
            **reply.headers,
        }
        if self.server.tls:
            headers["Strict-Transport-Security"] = HSTS
        payload = b""
        if reply.body is not None:
            payload = json.dumps(reply.body).encode()
            headers["Content-Length"] = str(len(payload))
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


class _PlainApiHandler(_JsonHandler):
    server: _PlainApiServer

    def answer(self, body: bytes) -> _Reply:
        url = urlsplit(self.path)
        routes = self._routes(url.path, url.query, body)
        if routes is None:
            return _NOT_FOUND
        if "GET" in routes:
            routes["HEAD"] = routes["GET"]
        action = routes.get(self.command)
        if action is None:
            allow = ", ".join(sorted(routes))
            return _Reply(
                HTTPStatus.METHOD_NOT_ALLOWED, {"detail": "method not allowed"}, {"Allow": allow}
            )
        return action()

    def _routes(self, path: str, query: str, body: bytes) -> dict[str, Callable[[], _Reply]] | None:
        if path == "/healthz":
            return {"GET": self._health}
        if path == "/v1/me":
            return {"GET": self._me}
        if path == "/v1/things":
            return {"GET": partial(self._list, query), "POST": partial(self._create, body)}
        if match := _THING_PATH.fullmatch(path):
            thing_id = int(match[1])
            return {"GET": partial(self._read, thing_id), "DELETE": partial(self._delete, thing_id)}
        return None

    def _health(self) -> _Reply:
        if self.server.fail_health:
            down = {"state": "down", "build": BUILD, "checks": {"db": "down", "search": "up"}}
            return _Reply(HTTPStatus.SERVICE_UNAVAILABLE, down)
        return _Reply(
            HTTPStatus.OK, {"state": "up", "build": BUILD, "checks": {"db": "up", "search": "up"}}
        )

    def _me(self) -> _Reply:
        user = self._user()
        return _UNAUTHORISED if user is None else _Reply(HTTPStatus.OK, {"user": user})

    def _list(self, query: str) -> _Reply:
        params = parse_qs(query, keep_blank_values=True)
        page = _positive(params, "page", 1)
        size = _positive(params, "size", DEFAULT_PAGE_SIZE)
        if page is None or size is None:
            detail = "page and size must be integers >= 1"
            return _Reply(HTTPStatus.BAD_REQUEST, {"detail": detail})
        items, count = self.server.things.page(page, size)
        return _Reply(HTTPStatus.OK, {"items": items, "count": count, "page": page, "size": size})

    def _read(self, thing_id: int) -> _Reply:
        thing = self.server.things.get(thing_id)
        return _NOT_FOUND if thing is None else _Reply(HTTPStatus.OK, thing)

    def _create(self, body: bytes) -> _Reply:
        if self._user() is None:
            return _UNAUTHORISED
        try:
            document = json.loads(body)
        except ValueError:
            return _Reply(HTTPStatus.BAD_REQUEST, {"detail": "body must be JSON"})
        title = document.get("title") if isinstance(document, dict) else None
        if not isinstance(title, str) or not title.strip():
            return _Reply(HTTPStatus.BAD_REQUEST, {"detail": "title must be a non-empty string"})
        thing = self.server.things.add(title)
        return _Reply(HTTPStatus.CREATED, thing, {"Location": f"/v1/things/{thing['id']}"})

    def _delete(self, thing_id: int) -> _Reply:
        if self._user() is None:
            return _UNAUTHORISED
        if not self.server.things.remove(thing_id):
            return _NOT_FOUND
        return _Reply(HTTPStatus.NO_CONTENT)

    def _user(self) -> str | None:
        """The Basic-auth user name if the credentials match, compared in constant time."""
        scheme, _, credentials = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, colon, password = decoded.partition(":")
        name_ok = compare_digest(username.encode(), self.server.username.encode())
        password_ok = compare_digest(password.encode(), self.server.password.encode())
        return username if colon and name_ok and password_ok else None


class _RedirectHandler(_JsonHandler):
    server: _RedirectServer

    def answer(self, body: bytes) -> _Reply:
        location = self.server.target + self.path
        return _Reply(
            HTTPStatus.MOVED_PERMANENTLY, {"detail": f"moved to {location}"}, {"Location": location}
        )


def _positive(params: dict[str, list[str]], name: str, default: int) -> int | None:
    """The last value of query parameter `name` as an integer >= 1, or None if it is not one."""
    if name not in params:
        return default
    text = params[name][-1]
    return int(text) if _DIGITS.fullmatch(text) and int(text) >= 1 else None


@contextmanager
def _running(server: _S) -> Iterator[_S]:
    """Serve in a daemon thread; afterwards stop, join and close, so no port or thread leaks."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    try:
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join()
    finally:
        server.server_close()


def _server_tls(tls: TlsOptions) -> tuple[ssl.SSLContext, Path]:
    """A server context with a fresh CA's certificate for 127.0.0.1 and localhost."""
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(_LOOPBACK, "localhost", not_after=tls.not_after).configure_cert(context)
    ca_pem = tls.directory / "ca.pem"
    ca.cert_pem.write_to_path(ca_pem)
    return context, ca_pem


@contextmanager
def serve_plain_api(
    *, username: str, password: str, fail_health: bool = False, tls: TlsOptions | None = None
) -> Iterator[PlainApi]:
    """Run the plain API on 127.0.0.1 (with a redirecting HTTP listener under TLS) until exit.

    Paths: GET /healthz, GET and POST /v1/things, GET and DELETE /v1/things/{id}, GET /v1/me.
    POST, DELETE and /v1/me need HTTP Basic auth as `username` / `password`.
    """
    with ExitStack() as stack:
        context, ca_pem = (None, None) if tls is None else _server_tls(tls)
        api = _PlainApiServer(
            username=username, password=password, fail_health=fail_health, ssl_context=context
        )
        stack.enter_context(_running(api))
        if context is None:
            yield PlainApi(url=f"http://{_LOOPBACK}:{api.server_port}")
            return
        url = f"https://{_LOOPBACK}:{api.server_port}"
        redirect = stack.enter_context(_running(_RedirectServer(url)))
        yield PlainApi(url=url, http_port=redirect.server_port, ca_pem=ca_pem)


class _SlowCountingServer(ThreadingHTTPServer):
    """Answers every request after a delay, counting requests and the most at once in flight."""

    daemon_threads = False

    def __init__(self, delay_s: float) -> None:
        super().__init__((_LOOPBACK, 0), _SlowCountingHandler)
        self.delay_s = delay_s
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0


class _SlowCountingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = REQUEST_TIMEOUT_S
    server: _SlowCountingServer

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""

    def do_GET(self) -> None:
        server = self.server
        with server.lock:
            server.requests += 1
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            threading.Event().wait(server.delay_s)
        finally:
            with server.lock:
                server.in_flight -= 1
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"ok")


@dataclass
class SlowServer:
    """A running slow counting server: where it answers, and what it has seen so far."""

    url: str
    _server: _SlowCountingServer

    @property
    def requests(self) -> int:
        with self._server.lock:
            return self._server.requests

    @property
    def max_in_flight(self) -> int:
        with self._server.lock:
            return self._server.max_in_flight


@contextmanager
def serve_slow(delay_s: float) -> Iterator[SlowServer]:
    """Answer every GET on 127.0.0.1 with 200 "ok" after `delay_s`, until exit.

    The server counts the requests it received and the most it held in flight at once,
    so a test can prove how many requests a client sends concurrently.
    """
    with _running(_SlowCountingServer(delay_s)) as server:
        yield SlowServer(f"http://{_LOOPBACK}:{server.server_port}", server)
