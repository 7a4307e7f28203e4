"""Loopback HTTP servers that misbehave on purpose, for the fault tests (`test_faults.py`).

Standard library only. Each server listens on 127.0.0.1, port 0, serves in its own thread and
is stopped by the context manager that started it: the stop event first (it cuts every slow
answer short), then shutdown, join and `server_close` (which joins the request threads). No
process is ever killed.

Paths, all answered on GET (and POST the same way) with `Connection: close` (a new
connection per request, so a server that stopped listening is seen at once as "connection
refused"):

- `/health`: 200 `{"status": "healthy", "version": "1.0.0"}`, what the plugin's default
  `[health]` reads (status 200, `/status`, `/version`); scripted to answer 503 first, to drip
  or to be malformed;
- `/hang`: answers nothing until `Script.hang_s` passes or the server stops;
- `/drip`: a body of `Script.drip_bytes` bytes, one every `Script.drip_interval_s`;
- `/drip-headers`: the status line and headers (padded with `Script.drip_bytes` bytes), one
  byte every `Script.drip_interval_s`, then a small JSON body;
- `/bomb`: `Content-Encoding: Script.bomb_encoding` (gzip, deflate or br) on a body that
  inflates to `Script.bomb_bytes` (256 MiB) of zeros: a decompression bomb of a few hundred KB;
- `/malformed`: `Content-Type: application/json`, body `{"broken":`;
- `/huge`: a body of `Script.huge_bytes` (50 MB), streamed from one reused chunk;
- `/burst`: 503 for the first `Script.burst` requests, then 200;
- `/redirect-away`: 302 to `Script.redirect_to`;
- `/landing`: 200 `{"landed": true}`, where a redirect may lead;
- `/reset`: the connection is reset (TCP RST) once the request is read;
- `/close`: the connection is closed without a word;
- `/garbage`: `GARBAGE`, bytes that are no HTTP answer (and would steer a terminal);
- `/loop`: 302 to itself, forever;
- `/bad-gzip`: `Content-Encoding: gzip` on a body that is not gzip;
- `/hostile`: 500, `text/plain`, `HOSTILE_BODY` (ANSI escapes, CR/LF, a bidi override and
  a fake `STAGING GATE: GO` line), and a header `X-Hostile: HOSTILE_HEADER`;
- `/hostile-type`: 200 with a body that is no JSON and `Content-Type: HOSTILE_HEADER`;
- `/redirect-hostile`: 302 to a path that, decoded, holds ESC, CR/LF and the fake line;
- `/echo`: 200 `text/plain`, the values of the `ECHOED_HEADERS` it received (and, for an
  `Authorization: Basic`, the decoded `user:password` and password), each in every
  `ECHO_ENCODINGS` form, one `name encoding: form` per line: a target that hands secrets back;
- anything else: 404.

With `Script.health_hostile`, `/health` answers like `/hostile`; with
`Script.health_drip_headers`, like `/drip-headers`. With `serve_faults(tls=...)`
the server speaks HTTPS with the given context.

Every request is recorded with its headers (`FaultServer.requests`), so a second server can
prove which headers a redirect carried to it, and announced (`FaultServer.wait_for`), so a test
can act on an arrival instead of polling for it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import json
import socket
import struct
import sys
import threading
import xml.sax.saxutils
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Iterator

LOOPBACK = "127.0.0.1"
HEALTHY = {"status": "healthy", "version": "1.0.0"}
MALFORMED_JSON = b'{"broken":'
HUGE_BYTES = 50 * 1024 * 1024
BOMB_BYTES = 256 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
HANG_CAP_S = 30.0
"""A hanging answer never outlives this, even if a test forgets to stop its server."""
REQUEST_TIMEOUT_S = 5.0
"""A silent client holds a request thread at most this long, which bounds the join on close."""
POLL_INTERVAL_S = 0.05
GARBAGE = b"\x1b[2J\x1b[HSTAGING GATE: GO\r\n\r\n"
HOSTILE_BODY = (
    "\x1b[2J\x1b[H\x1b[32mSTAGING GATE: GO\x1b[0m\r\nSTAGING GATE: GO\n"
    "\u202eOG :ETAG GNIGATS\u202c \x9b2J\x07\x00 end"
)
"""Clears the screen, homes the cursor and prints a green fake verdict; then the fake line
after CR/LF, a right-to-left override, the one-byte CSI (C1), BEL and NUL."""
HOSTILE_HEADER = "text/plain\u202e; \x9b2J fake"
"""A header value can hold neither ESC nor CR/LF (httpx refuses them), but it can hold the
one-byte CSI and a bidi override (sent as UTF-8, which httpx decodes)."""
_HOSTILE_HEADER_SENT = HOSTILE_HEADER.encode().decode("latin-1")
"""What `send_header` (which encodes Latin-1) must be given to send the UTF-8 bytes."""
HOSTILE_PATH = "/%1B%5B2J%0D%0ASTAGING%20GATE:%20GO"
ECHOED_HEADERS = ("authorization", "x-token", "x-planted")
ECHO_ENCODINGS: dict[str, Callable[[str], str]] = {
    "json": json.dumps,
    "json-slash": lambda value: json.dumps(value).replace("/", "\\/"),  # PHP's json_encode
    "json-go": lambda value: (
        json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    ),
    "json-in-repr": lambda value: repr(json.dumps(value)),
    "repr": repr,
    "repr-double-quoted": lambda value: '"' + repr(value + '"')[1:-2].replace("\\'", "'") + '"',
    "html": html.escape,
    "html-unquoted": lambda value: html.escape(value, quote=False),
    "html-markupsafe": lambda value: (
        html.escape(value, quote=False).replace('"', "&#34;").replace("'", "&#39;")
    ),
    "xml": lambda value: xml.sax.saxutils.escape(value, {'"': "&quot;", "'": "&apos;"}),
    "percent": lambda value: quote(value, safe=""),
    "percent-path": quote,
    "percent-plus": quote_plus,
    "base64": lambda value: base64.b64encode(value.encode()).decode(),
    "base64url": lambda value: base64.urlsafe_b64encode(value.encode()).decode().rstrip("="),
}
"""How targets and Python hand a value back: JSON (PHP escapes `/`, Go `<>&`), `repr` in
both quote styles (also of a JSON string: pytest's view of a JSON body), HTML and XML text,
URL-encoded, base64."""


@dataclass(frozen=True)
class Script:
    """How a fault server misbehaves; the defaults give a healthy server."""

    health_failures: int = 0
    """The first N GET /health answer 503."""
    health_drip: bool = False
    """GET /health drips its body like /drip."""
    health_malformed: bool = False
    """GET /health answers 200 with the malformed JSON body."""
    burst: int = 0
    """The first N GET /burst answer 503."""
    die_after: int | None = None
    """After this many requests (any path) the server stops listening, before it answers the
    last one: every later connection is refused."""
    hang_s: float = HANG_CAP_S
    drip_bytes: int = 10
    drip_interval_s: float = 0.1
    huge_bytes: int = HUGE_BYTES
    redirect_to: str | None = None
    health_hostile: bool = False
    """GET /health answers like /hostile."""
    health_drip_headers: bool = False
    """GET /health drips its status line and headers like /drip-headers."""
    bomb_bytes: int = BOMB_BYTES
    bomb_encoding: str = "gzip"


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name.lower()), None)


class _FaultListener(ThreadingHTTPServer):
    daemon_threads = False  # server_close joins the request threads: nothing outlives a test

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        super().__init__((LOOPBACK, 0), _FaultHandler, bind_and_activate=False)
        try:
            self.server_bind()  # the port is ours from now on; listening may come later
        except OSError:
            self.server_close()
            raise
        if tls is not None:  # each accepted connection does its handshake first
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.script = script
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.serving = False
        self.listening = threading.Event()
        self.dead = False
        self.seen: list[Seen] = []
        self.per_path: Counter[str] = Counter()

    def record(self, seen: Seen) -> tuple[int, int]:
        """Count the request; returns (requests so far, requests so far to its path)."""
        with self.lock:
            self.seen.append(seen)
            self.per_path[seen.path] += 1
            self.arrived.notify_all()
            return len(self.seen), self.per_path[seen.path]

    def die(self) -> None:
        """Stop accepting and close the listening socket: later connections are refused.
        Called from a request thread, never from the serving one."""
        with self.lock:
            if self.dead:
                return
            self.dead = True
        self.shutdown()
        self.socket.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (timed out, interrupted) is the point of these servers."""
        if not isinstance(sys.exception(), OSError):
            super().handle_error(request, client_address)


class _FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = REQUEST_TIMEOUT_S
    server: _FaultListener

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        headers = tuple((name.lower(), value) for name, value in self.headers.items())
        total, on_path = self.server.record(Seen(self.command, path, headers))
        script = self.server.script
        if script.die_after is not None and total >= script.die_after:
            self.server.die()
        routes: dict[str, Callable[[int], None]] = {
            "/health": self._health,
            "/hang": self._hang,
            "/drip": lambda _: self._drip(b"d" * script.drip_bytes),
            "/drip-headers": lambda _: self._drip_headers(),
            "/bomb": lambda _: self._send(
                HTTPStatus.OK,
                bomb(script.bomb_encoding, script.bomb_bytes),
                {"Content-Encoding": script.bomb_encoding},
            ),
            "/malformed": lambda _: self._send(HTTPStatus.OK, MALFORMED_JSON),
            "/huge": self._huge,
            "/burst": self._burst,
            "/redirect-away": self._redirect,
            "/landing": lambda _: self._json(HTTPStatus.OK, {"landed": True}),
            "/reset": self._reset,
            "/close": self._close,
            "/garbage": self._garbage,
            "/loop": lambda _: self._json(HTTPStatus.FOUND, {}, {"Location": "/loop"}),
            "/bad-gzip": lambda _: self._send(HTTPStatus.OK, b"not gzip", _GZIP),
            "/hostile": self._hostile,
            "/hostile-type": self._hostile_type,
            "/redirect-hostile": lambda _: self._json(
                HTTPStatus.FOUND, {}, {"Location": HOSTILE_PATH}
            ),
            "/echo": self._echo,
        }
        route = routes.get(path)
        if route is None:
            self._json(HTTPStatus.NOT_FOUND, {"detail": "not found"})
        else:
            route(on_path)

    do_POST = do_GET  # a login sent where a fault waits gets the same fault

    def _health(self, on_path: int) -> None:
        script = self.server.script
        if script.health_hostile:
            self._hostile(on_path)
        elif on_path <= script.health_failures:
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"status": "starting", "version": "1.0.0"})
        elif script.health_malformed:
            self._send(HTTPStatus.OK, MALFORMED_JSON)
        elif script.health_drip_headers:
            self._drip_headers()
        elif script.health_drip:
            self._drip(json.dumps(HEALTHY).encode().ljust(script.drip_bytes))
        else:
            self._json(HTTPStatus.OK, HEALTHY)

    def _hang(self, _: int) -> None:
        if self.server.stop.wait(self.server.script.hang_s):
            return  # stopping: hang up without a word
        self._json(HTTPStatus.OK, {"late": True})

    def _drip(self, body: bytes) -> None:
        self._head(HTTPStatus.OK, len(body))
        for index in range(len(body)):
            if index and self.server.stop.wait(self.server.script.drip_interval_s):
                return
            self.wfile.write(body[index : index + 1])
            self.wfile.flush()

    def _drip_headers(self) -> None:
        """The whole answer written by hand, its head a byte at a time."""
        self.close_connection = True
        body = json.dumps(HEALTHY).encode()
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n"
            f"X-Padding: {'p' * self.server.script.drip_bytes}\r\n\r\n"
        ).encode()
        for index in range(len(head)):
            if index and self.server.stop.wait(self.server.script.drip_interval_s):
                return
            self.wfile.write(head[index : index + 1])
            self.wfile.flush()
        self.wfile.write(body)

    def _huge(self, _: int) -> None:
        left = self.server.script.huge_bytes
        self._head(HTTPStatus.OK, left)
        chunk = b"x" * CHUNK_BYTES
        while left > 0 and not self.server.stop.is_set():
            self.wfile.write(chunk[: min(left, CHUNK_BYTES)])
            left -= CHUNK_BYTES

    def _burst(self, on_path: int) -> None:
        if on_path <= self.server.script.burst:
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"detail": "busy"})
        else:
            self._json(HTTPStatus.OK, {"status": "ok"})

    def _redirect(self, _: int) -> None:
        location = self.server.script.redirect_to
        if location is None:
            self._json(HTTPStatus.NOT_FOUND, {"detail": "no redirect scripted"})
        else:
            self._json(HTTPStatus.FOUND, {"detail": "moved"}, {"Location": location})

    def _reset(self, _: int) -> None:
        """SO_LINGER with a zero timeout: closing sends RST instead of FIN."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._close(0)

    def _close(self, _: int) -> None:
        self.close_connection = True
        self.connection.close()

    def _garbage(self, _: int) -> None:
        self.close_connection = True
        self.wfile.write(GARBAGE)

    def _hostile(self, _: int) -> None:
        body = HOSTILE_BODY.encode()
        headers = {"Content-Type": "text/plain; charset=utf-8", "X-Hostile": _HOSTILE_HEADER_SENT}
        self._send(HTTPStatus.INTERNAL_SERVER_ERROR, body, headers)

    def _hostile_type(self, _: int) -> None:
        self._send(HTTPStatus.OK, b"not json", {"Content-Type": _HOSTILE_HEADER_SENT})

    def _echo(self, _: int) -> None:
        lines = [
            f"{name} {encoding}: {encode(value)}"
            for name, value in self._echoed()
            for encoding, encode in ECHO_ENCODINGS.items()
        ]
        self._send(HTTPStatus.OK, "\n".join(lines).encode(), {"Content-Type": "text/plain"})

    def _echoed(self) -> list[tuple[str, str]]:
        values = [(name, self.headers[name]) for name in ECHOED_HEADERS if name in self.headers]
        scheme, _, credential = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                pair = base64.b64decode(credential, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return values
            values += [("basic pair", pair), ("basic password", pair.partition(":")[2])]
        return values

    def _json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), headers)

    def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        self._head(status, len(payload), headers)
        self.wfile.write(payload)

    def _head(self, status: int, length: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {
            "Content-Type": "application/json",
            "Content-Length": str(length),
            "Connection": "close",
            **(headers or {}),
        }.items():
            self.send_header(name, value)
        self.end_headers()


_GZIP = {"Content-Encoding": "gzip"}


@functools.cache
def bomb(encoding: str, size: int) -> bytes:
    """`size` zero bytes compressed with `encoding` (gzip, deflate or br), made once."""
    zeros = bytes(CHUNK_BYTES * 16)
    if encoding == "br":
        import brotli

        compressor = brotli.Compressor(quality=5)
        return b"".join(compressor.process(zeros) for _ in range(size // len(zeros))) + (
            compressor.finish()
        )
    wbits = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}[encoding]
    deflate = zlib.compressobj(1, zlib.DEFLATED, wbits)
    return b"".join(deflate.compress(zeros) for _ in range(size // len(zeros))) + deflate.flush()


@dataclass(frozen=True)
class FaultServer:
    """A running fault server: where it answers and what it has received so far."""

    url: str
    port: int
    _server: _FaultListener

    @property
    def requests(self) -> list[Seen]:
        with self._server.lock:
            return list(self._server.seen)

    def count(self, path: str) -> int:
        with self._server.lock:
            return self._server.per_path[path]

    def wait_for(self, path: str, count: int = 1, *, timeout: float) -> bool:
        """Block until `count` requests to `path` have arrived; False if `timeout` seconds
        pass first. The request is counted as soon as its head is read, while its answer is
        still to come: a test can act while the client waits on it."""
        with self._server.arrived:
            return self._server.arrived.wait_for(
                lambda: self._server.per_path[path] >= count, timeout
            )

    def listen(self) -> None:
        """Start accepting connections (for a server started with `listening=False`)."""
        self._server.listening.set()


def _serve(server: _FaultListener) -> None:
    """Listen once asked to (unless stopped before) and serve until shutdown."""
    while not server.listening.wait(POLL_INTERVAL_S):
        if server.stop.is_set():
            return
    with server.lock:
        if server.stop.is_set():
            return
        server.server_activate()
        server.serving = True
    server.serve_forever(poll_interval=POLL_INTERVAL_S)


@contextmanager
def serve_faults(
    script: Script | None = None, *, listening: bool = True, tls: ssl.SSLContext | None = None
) -> Iterator[FaultServer]:
    """Run a fault server on 127.0.0.1 until the block ends; then stop it promptly.

    With `listening=False` the port is bound but refuses every connection until
    `FaultServer.listen()`: a target that comes up late. With `tls`, it serves HTTPS."""
    server = _FaultListener(script or Script(), tls)
    if listening:
        server.listening.set()
    thread = threading.Thread(target=_serve, args=(server,), name="fault-server", daemon=True)
    try:
        thread.start()
        port = server.server_address[1]
        scheme = "http" if tls is None else "https"
        yield FaultServer(f"{scheme}://{LOOPBACK}:{port}", port, server)
    finally:
        server.stop.set()  # first: hanging and dripping answers give up at once
        with server.lock:
            serving = server.serving
        if serving:
            server.shutdown()  # returns at once when die() already shut it down
        thread.join()
        server.server_close()


@contextmanager
def refusing_port() -> Iterator[str]:
    """A loopback URL whose port is bound but never listens: every connection is refused,
    and no other process can take the port while the block runs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        yield f"http://{LOOPBACK}:{sock.getsockname()[1]}"
