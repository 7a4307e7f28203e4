"""Servers we did not write, on loopback, for proving the suites judge real services: the
demo was written to match the suites, so a verdict is only trusted once it holds here too.

- `nginx`: Debian's nginx (`/usr/sbin/nginx`) over TLS with a trustme CA, serving the
  `Page`s a test asks for (any status, body, content type and headers, sent with
  `add_header ... always`, a header twice if asked, a long one in pieces), or proxying to another server; a plain-HTTP listener redirects
  to it, except at the pages keyed `http:/path`. Pass `Nginx.ca_pem` with
  `--staging-ca-bundle`.
- `httpbin`: the httpbin WSGI app under gunicorn. `/response-headers?Name=value` answers
  any header asked for. It pins greenlet<3 and locust needs greenlet>=3, so it lives in a
  virtualenv of its own, whose python `STAGING_HTTPBIN_PYTHON` names (`.ci/run` makes it);
  unset, the tests that need it skip.
- `prometheus_exporter`: prometheus_client's own `start_http_server` in a child python,
  exposing a counter (`thirdparty_jobs_total`) and the process collector's series.

A server that cannot run here (no nginx, no httpbin virtualenv) skips its tests, and
fails them under CI (`CI` set), as `test_junit.py` treats a missing XSD.

Each server is a child process started and stopped by its PID. Start-up waits on what can
be observed (the port accepting, the port printed, an answer), with a deadline only as a
safety net. The fixtures are used by importing them into a test module (ruff then wants
`# noqa: F811` on each test parameter of the same name):

    from third_party import Nginx, Page, httpbin, nginx  # noqa: F401  (fixtures)
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import httpx
import pytest
import trustme

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

NGINX = Path("/usr/sbin/nginx")
LOOPBACK = "127.0.0.1"
START_DEADLINE_S = 30.0
"""A safety net only: every start-up waits on an event, never on time."""
POLL_S = 0.05
"""Between two looks at a starting server, wait this long for the child to exit."""
NGINX_LOG = "nginx.log"
"""nginx's output and its error_log, one file in its directory."""
PORT_ATTEMPTS = 3
"""nginx needs free ports named in its configuration; another process may take one first."""
PLAIN = "http:"
"""A page keyed `http:/path` is what the plain-HTTP listener answers at /path, instead of
its redirect (a `Page` with status 301 sends its body as the Location)."""
NGINX_PIECE_CHARS = 1000
"""nginx refuses a parameter over 4096 bytes; 1000 characters stay under it even in UTF-8."""

EXPORTER = """
import threading
from prometheus_client import Counter, start_http_server

Counter("thirdparty_jobs", "Jobs done").inc(3)
server, _ = start_http_server(0, addr="127.0.0.1")
print(server.server_port, flush=True)
threading.Event().wait()
"""


class ServerFailed(RuntimeError):
    """A third-party server exited or did not start in time; the message ends with its log."""


@dataclass(frozen=True)
class Page:
    """What nginx answers at one exact path; a header given a tuple is sent once per value
    (as a proxy's header and the app's own arrive)."""

    body: str = ""
    content_type: str = "text/plain"
    headers: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    status: int = 200


@dataclass(frozen=True)
class Nginx:
    """A running nginx: `url` is HTTPS; `http_port` redirects plain HTTP to it."""

    url: str
    http_port: int
    ca_pem: Path


def _started(
    command: list[str],
    log: Path,
    ready: Callable[[], bool],
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start the child with its output in `log`; return it once `ready()`, else stop it and
    raise `ServerFailed` with the log."""
    with log.open("ab") as sink:  # append: nginx writes its error log to the same file
        child = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_until(child, ready, log)
    except BaseException:
        _stop(child)
        raise
    return child


def _wait_until(child: subprocess.Popen[bytes], ready: Callable[[], bool], log: Path) -> None:
    deadline = time.monotonic() + START_DEADLINE_S
    while not ready():
        try:
            child.wait(timeout=POLL_S)
        except subprocess.TimeoutExpired:
            if time.monotonic() < deadline:
                continue
            problem = f"{child.args} not ready in {START_DEADLINE_S:g} s: {_tail(log)}"
            raise ServerFailed(problem) from None
        raise ServerFailed(f"{child.args} exited with {child.returncode}: {_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-2000:]


def _stop(child: subprocess.Popen[bytes]) -> None:
    """Stop one child by its PID: SIGTERM, then SIGKILL if it lingers."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _accepting(ports: tuple[int, ...]) -> bool:
    for port in ports:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1):
                pass
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
    return port


def _quoted(text: str) -> str:
    """`text` as an nginx string; `$` would be read as a variable, so it is refused."""
    if "$" in text:
        raise ValueError(f"nginx would expand the $ in {text!r}")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _add_header(name: str, value: str, key: int) -> str:
    """`add_header`, with a value too long for one nginx parameter set in pieces (variables
    named after `key`, unique in its location) and joined."""
    pieces = [value[i : i + NGINX_PIECE_CHARS] for i in range(0, len(value), NGINX_PIECE_CHARS)]
    if len(pieces) <= 1:
        return f"      add_header {_quoted(name)} {_quoted(value)} always;\n"
    sets = "".join(
        f"      set $staging_{key}_{n} {_quoted(piece)};\n" for n, piece in enumerate(pieces)
    )
    joined = "".join(f"${{staging_{key}_{n}}}" for n in range(len(pieces)))
    return f'{sets}      add_header {_quoted(name)} "{joined}" always;\n'


def _location(path: str, page: Page) -> str:
    sent = [
        (name, value)
        for name, values in page.headers.items()
        for value in ((values,) if isinstance(values, str) else values)
    ]
    headers = "".join(_add_header(name, value, key) for key, (name, value) in enumerate(sent))
    return (
        f"    location = {path} {{\n"
        f"      default_type {_quoted(page.content_type)};\n{headers}"
        f"      return {page.status} {_quoted(page.body)};\n    }}\n"
    )


def _nginx_conf(
    directory: Path, ports: tuple[int, int], pages: Mapping[str, Page], proxy_to: str | None
) -> str:
    https_port, http_port = ports
    fallback = f"proxy_pass {proxy_to};" if proxy_to else "return 404;"
    secure = "".join(_location(path, page) for path, page in pages.items() if path[0] == "/")
    plain = "".join(
        _location(path.removeprefix(PLAIN), page)
        for path, page in pages.items()
        if path.startswith(PLAIN)
    )
    temp_paths = "".join(
        f"  {kind}_temp_path {directory / 'temp'};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""
master_process off;
error_log {directory / NGINX_LOG};
pid {directory / "nginx.pid"};
events {{ worker_connections 64; }}
http {{
  access_log off;
  server_tokens off;
  types {{ }}
{temp_paths}  server {{
    listen {LOOPBACK}:{https_port} ssl;
    ssl_certificate {directory / "server.pem"};
    ssl_certificate_key {directory / "server.pem"};
{secure}
    location / {{ {fallback} }}
  }}
  server {{
    listen {LOOPBACK}:{http_port};
{plain}
    location / {{ return 301 https://{LOOPBACK}:{https_port}$request_uri; }}
  }}
}}
"""


@contextmanager
def serve_nginx(
    directory: Path, pages: Mapping[str, Page], proxy_to: str | None = None
) -> Iterator[Nginx]:
    """nginx over TLS in `directory` (configuration, certificates, logs, temp files), as a
    single foreground process (`master_process off`: one PID, no user switch)."""
    if not NGINX.is_file():
        unavailable(f"{NGINX} is not installed (Debian: apt-get install nginx-light)")
    ca = trustme.CA()
    ca.issue_cert(LOOPBACK).private_key_and_cert_chain_pem.write_to_path(directory / "server.pem")
    ca.cert_pem.write_to_path(directory / "ca.pem")
    (directory / "temp").mkdir(exist_ok=True)
    child, (https_port, http_port) = _start_nginx(directory, pages, proxy_to)
    try:
        yield Nginx(f"https://{LOOPBACK}:{https_port}", http_port, directory / "ca.pem")
    finally:
        _stop(child)


def _start_nginx(
    directory: Path, pages: Mapping[str, Page], proxy_to: str | None
) -> tuple[subprocess.Popen[bytes], tuple[int, int]]:
    """nginx on two free ports, tried again on others if one was taken meanwhile."""
    for _ in range(PORT_ATTEMPTS - 1):
        try:
            return _nginx_on_free_ports(directory, pages, proxy_to)
        except ServerFailed as exc:
            if "Address already in use" not in str(exc):
                raise
    return _nginx_on_free_ports(directory, pages, proxy_to)


def _nginx_on_free_ports(
    directory: Path, pages: Mapping[str, Page], proxy_to: str | None
) -> tuple[subprocess.Popen[bytes], tuple[int, int]]:
    ports = (_free_port(), _free_port())
    conf = directory / "nginx.conf"
    conf.write_text(_nginx_conf(directory, ports, pages, proxy_to), encoding="utf-8")
    command = [str(NGINX), "-c", str(conf), "-p", f"{directory}/", "-g", "daemon off;"]
    return _started(command, directory / NGINX_LOG, partial(_accepting, ports)), ports


@pytest.fixture
def nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Nginx]]:
    """Start nginx with `nginx(pages, proxy_to=None)`; every one started is stopped after
    the test."""
    with ExitStack() as running:

        def start(pages: Mapping[str, Page], proxy_to: str | None = None) -> Nginx:
            directory = tmp_path_factory.mktemp("nginx")
            return running.enter_context(serve_nginx(directory, pages, proxy_to))

        yield start


def unavailable(message: str) -> NoReturn:
    """A server cannot run here: skip locally, fail under CI, where every proof must run."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def httpbin_python() -> str:
    """The python of httpbin's own virtualenv, named by `STAGING_HTTPBIN_PYTHON`."""
    python = os.environ.get("STAGING_HTTPBIN_PYTHON", "")
    if not python:
        unavailable(
            "STAGING_HTTPBIN_PYTHON is not set: name the python of a virtualenv with httpbin "
            "and gunicorn (.ci/run makes one and sets it)"
        )
    return python


@pytest.fixture(scope="session")
def httpbin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """httpbin under gunicorn on a port of its choosing; the URL, once it answers."""
    python = httpbin_python()
    directory = tmp_path_factory.mktemp("httpbin")
    log = directory / "gunicorn.log"

    def answers() -> bool:
        url = _gunicorn_url(log)
        if url is None:
            return False
        try:  # the first request waits in the listen queue until a worker has booted
            return httpx.get(f"{url}/status/200", timeout=START_DEADLINE_S).status_code == 200
        except httpx.HTTPError:
            return False

    command = [python, "-m", "gunicorn", "--bind", f"{LOOPBACK}:0", "--workers", "2", "httpbin:app"]
    # HOME: gunicorn's control socket goes to ~/.gunicorn, which parallel runs would share.
    child = _started(command, log, answers, env={**os.environ, "HOME": str(directory)})
    try:
        yield str(_gunicorn_url(log))
    finally:
        _stop(child)


def _gunicorn_url(log: Path) -> str | None:
    """The address gunicorn's log says it listens at, once it says so."""
    _, found, rest = log.read_text(encoding="utf-8").partition("Listening at: ")
    return rest.split()[0] if found and rest.strip() else None


@pytest.fixture(scope="session")
def prometheus_exporter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """prometheus_client's `start_http_server` in a child python; its URL."""
    log = tmp_path_factory.mktemp("exporter") / "exporter.log"
    child = _started([sys.executable, "-c", EXPORTER], log, lambda: _printed_port(log) > 0)
    try:
        yield f"http://{LOOPBACK}:{_printed_port(log)}"
    finally:
        _stop(child)


def _printed_port(log: Path) -> int:
    """The port the exporter printed on its first line, or 0 before it has."""
    first = log.read_text(encoding="utf-8").partition("\n")[0]
    return int(first) if first.isdigit() else 0
