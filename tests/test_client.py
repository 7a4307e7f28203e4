"""The session client against real loopback servers: what it records, sends and verifies.

The demo service answers the API calls; a tiny echo server started in a thread shows exactly
which headers (authentication included) left the client.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import httpx
import pytest
import trustme

from pytest_staging.demo.modes import DEMO_PASSWORD, DEMO_USERNAME
from pytest_staging.http.client import build_client, proxy_for
from pytest_staging.http.target import StagingTarget
from pytest_staging.http.tls import tls_verify
from pytest_staging.http.transports import TimedTransport
from pytest_staging.phase_log import PhaseLog, RequestRecord
from pytest_staging.redaction import Secret
from pytest_staging.settings.resolution import StagingSettings

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

Connect = Callable[..., httpx.Client]


class _EchoHandler(BaseHTTPRequestHandler):
    """Answers every GET with the request's headers as a JSON object (names in lower case)."""

    def do_GET(self) -> None:
        body = json.dumps({name.lower(): value for name, value in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


class _EchoServer(ThreadingHTTPServer):
    daemon_threads = False


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = _EchoServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def log() -> PhaseLog:
    return PhaseLog()


@pytest.fixture
def connect(log: PhaseLog) -> Iterator[Connect]:
    """Builds session clients into `log` the way the plugin does, and closes them all."""
    clients: list[httpx.Client] = []

    def make(url: str, settings: StagingSettings | None = None) -> httpx.Client:
        target = StagingTarget.from_url(url, "staging")
        clients.append(build_client(settings or StagingSettings(), target, log))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def login(client: httpx.Client) -> str:
    response = client.post(
        "/api/auth/login", json={"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200
    token: str = response.json()["data"]["token"]
    return token


def test_every_request_lands_in_the_log(demo_url: str, connect: Connect, log: PhaseLog) -> None:
    client = connect(demo_url)
    client.get("/api/items", params={"page": 2, "per_page": 5})
    client.get("/api/items/999")
    client.post("/api/items", json={"name": "x", "price": 1})
    records = log.take().requests
    assert [(r.method, r.path, r.status, r.error) for r in records] == [
        ("GET", "/api/items", 200, None),
        ("GET", "/api/items/999", 404, None),
        ("POST", "/api/items", 401, None),
    ]
    assert all(record.duration_ms > 0 for record in records)
    assert records[0].name == "GET /api/items"
    assert log.take().requests == []


def test_the_log_keeps_the_last_answer_until_it_is_taken(
    demo_url: str, connect: Connect, log: PhaseLog
) -> None:
    client = connect(demo_url)
    client.get("/health")
    last = client.get("/api/items/999")
    assert log.last_response is last
    assert log.last_response.json()["success"] is False
    log.take()
    assert log.last_response is None


def test_a_connection_error_is_recorded_without_a_status(connect: Connect, log: PhaseLog) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = connect(f"http://127.0.0.1:{port}")
    with pytest.raises(httpx.ConnectError):
        client.get("/health?probe=1")
    [record] = log.take().requests
    assert (record.method, record.path, record.status, record.error) == (
        "GET",
        "/health",
        None,
        "ConnectError",
    )
    assert record.duration_ms > 0


def test_the_token_becomes_a_bearer_authorization(demo_url: str, connect: Connect) -> None:
    token = login(connect(demo_url))
    anonymous = connect(demo_url).get("/api/auth/me")
    authenticated = connect(demo_url, StagingSettings(token=Secret(token))).get("/api/auth/me")
    assert anonymous.status_code == 401
    assert authenticated.status_code == 200
    assert authenticated.json()["data"] == {"username": DEMO_USERNAME}


def test_default_and_extra_headers_are_sent(echo_port: int, connect: Connect) -> None:
    settings = StagingSettings(
        token=Secret("tok-123"),
        headers=(("X-Tenant", Secret("blue")), ("X-Api-Key", Secret("k-456"))),
    )
    seen = connect(f"http://127.0.0.1:{echo_port}", settings).get("/").json()
    assert seen["user-agent"] == "pytest-staging"
    assert seen["authorization"] == "Bearer tok-123"
    assert (seen["x-tenant"], seen["x-api-key"]) == ("blue", "k-456")


def test_url_credentials_are_split_out_and_sent_as_basic_auth(
    echo_port: int, connect: Connect
) -> None:
    url = f"http://deployer:s3cr3t-pw@127.0.0.1:{echo_port}"
    target = StagingTarget.from_url(url, "staging")
    assert target.url == f"http://127.0.0.1:{echo_port}"
    assert target.username == "deployer"
    assert target.password == Secret("s3cr3t-pw")
    assert "s3cr3t-pw" not in repr(target)
    seen = connect(url).get("/").json()
    assert seen["authorization"] == "Basic " + base64.b64encode(b"deployer:s3cr3t-pw").decode()
    assert seen["host"] == f"127.0.0.1:{echo_port}"


def test_percent_encoded_url_credentials_are_decoded(echo_port: int, connect: Connect) -> None:
    """A URL must percent-encode '@' and ':' in a password; the server expects the real one."""
    url = f"http://ops%40example.com:p%40ss%3Aword@127.0.0.1:{echo_port}"
    seen = connect(url).get("/").json()
    expected = base64.b64encode(b"ops@example.com:p@ss:word").decode()
    assert seen["authorization"] == f"Basic {expected}"


def test_tls_verify_follows_the_settings(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    context = tls_verify(StagingSettings(ca_bundle=bundle))
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert len(context.get_ca_certs()) == 1
    assert tls_verify(StagingSettings(insecure=True)) is False
    assert tls_verify(StagingSettings()) is True


@pytest.fixture
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """conftest clears the proxies; NO_PROXY from the developer's shell must not count either."""
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_proxy_for_uses_the_proxy_of_the_scheme(no_proxy_variables: pytest.MonkeyPatch) -> None:
    assert proxy_for("http://staging.example.com") is None
    no_proxy_variables.setenv("HTTP_PROXY", "http://proxy.example.com:3128")
    no_proxy_variables.setenv("HTTPS_PROXY", "http://secure-proxy.example.com:3129")
    assert proxy_for("http://staging.example.com/api") == "http://proxy.example.com:3128"
    assert proxy_for("https://staging.example.com") == "http://secure-proxy.example.com:3129"


@pytest.mark.parametrize(
    ("no_proxy", "proxied"),
    [
        ("staging.example.com", False),
        ("other.example.com,.example.com", False),
        ("example.com", False),
        ("*", False),
        ("other.example.com", True),
        ("", True),
    ],
)
def test_proxy_for_honours_no_proxy(
    no_proxy_variables: pytest.MonkeyPatch, no_proxy: str, proxied: bool
) -> None:
    no_proxy_variables.setenv("HTTP_PROXY", "http://proxy.example.com:3128")
    no_proxy_variables.setenv("NO_PROXY", no_proxy)
    expected = "http://proxy.example.com:3128" if proxied else None
    assert proxy_for("http://staging.example.com:8080") == expected


def test_secrets_mask_themselves() -> None:
    secret = Secret("x")
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "***"
    assert f"{secret}" == "***"
    assert secret.reveal() == "x"
    assert "tok-123" not in repr(StagingSettings(token=Secret("tok-123")))


def test_a_stream_is_recorded_only_when_its_body_is_closed(
    demo_url: str, connect: Connect, log: PhaseLog
) -> None:
    client = connect(demo_url)
    with client.stream("GET", "/api/items") as response:
        assert response.status_code == 200
        assert log.take().requests == []
        next(response.iter_bytes(chunk_size=16))
        assert log.take().requests == []
    [record] = log.take().requests
    assert (record.method, record.path, record.status, record.error) == (
        "GET",
        "/api/items",
        200,
        None,
    )


def test_the_duration_runs_until_the_body_is_closed(demo_url: str) -> None:
    """On a fake clock: reading the whole body closes it, so time after the read is not counted."""
    now = [50.0]
    log = PhaseLog()
    transport = TimedTransport(httpx.HTTPTransport(), log, clock=lambda: now[0])
    with (
        httpx.Client(base_url=demo_url, transport=transport) as client,
        client.stream("GET", "/health") as response,
    ):
        now[0] += 0.25
        response.read()
        now[0] += 1.0
    assert log.take().requests == [RequestRecord("GET", "/health", 200, 250.0)]


def test_url_credentials_are_masked_in_both_their_forms() -> None:
    """The password as typed and the Basic credentials as they travel in a header."""
    from pytest_staging.redaction import Redactor

    target = StagingTarget.from_url("http://alice:Sup3rSecret@127.0.0.1:1", "staging")
    redactor = Redactor()
    redactor.register(target.secrets())
    wire = base64.b64encode(b"alice:Sup3rSecret").decode()
    assert redactor.redact(f"Authorization: Basic {wire}; pw=Sup3rSecret") == (
        "Authorization: Basic ***; pw=***"
    )


def test_the_json_report_masks_secrets_that_json_would_escape(tmp_path: Path) -> None:
    from pytest_staging.redaction import redactor
    from pytest_staging.report import json_report

    redactor.register(['pa"ss\\word'])
    try:
        json_report.write(tmp_path / "r.json", {"reasons": ['login with pa"ss\\word failed']})
    finally:
        redactor.clear()
    text = (tmp_path / "r.json").read_text(encoding="utf-8")
    assert "pa" not in text.replace("***", "")
    assert json.loads(text) == {"reasons": ["login with *** failed"]}


def test_the_json_report_keeps_one_line_per_test_and_reads_back_unchanged(tmp_path: Path) -> None:
    from pytest_staging.report import json_report

    tests = [
        {"nodeid": 'a.py::test_quote["x"]', "outcome": "passed"},
        {"nodeid": "b.py::test_newline[a\nb]", "outcome": "failed"},
        {"nodeid": 'c.py::test_tests["tests": []]', "outcome": "skipped"},
    ]
    document = {"verdict": "GO", "tests": tests, "latency": {"tests": []}}
    json_report.write(tmp_path / "r.json", document)
    text = (tmp_path / "r.json").read_text(encoding="utf-8")

    assert json.loads(text) == document
    test_lines = [line for line in text.splitlines() if line.startswith('    {"nodeid"')]
    assert [json.loads(line.rstrip(",")) for line in test_lines] == tests
