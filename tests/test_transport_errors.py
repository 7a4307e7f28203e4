"""A request that gets no usable answer fails its test with one line, not a traceback.

Each inner test meets one transport fault of a real loopback server (`fault_servers.py`):
refused, reset, closed without a word, bytes that are no HTTP, a redirect loop, a body that
does not decode, no answer in time, a certificate nobody trusts. The failure section, JUnit's
message and the short summary carry one line naming the request (method and path: no query,
no credentials), the cause and what to check; no httpx, httpcore or tenacity frame is shown
unless `--tb=long` asks for them. The same holds under xdist, whose workers ship the reports.
"""

from __future__ import annotations

import re
import ssl
from typing import TYPE_CHECKING
from xml.etree import ElementTree

import pytest
import trustme
from fault_servers import refusing_port, serve_faults
from inner_run import INNER_RUN_OPTIONS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fault_servers import FaultServer

SECRET_PASSWORD = "pw-never-shown-7"
SECRET_QUERY = "hunter22-never-shown"
FAULT_TESTS = """
import pytest

UNTRUSTED = {untrusted!r}
CLOSED_PORT = {closed!r}

@pytest.mark.smoke
def test_refused(staging_client):
    staging_client.get(CLOSED_PORT + "/api/items?api_key={query}")

@pytest.mark.smoke
def test_reset(staging_client):
    staging_client.get("/reset")

@pytest.mark.smoke
def test_closed(staging_client):
    staging_client.get("/close")

@pytest.mark.smoke
def test_not_http(staging_client):
    staging_client.get("/garbage")

@pytest.mark.smoke
def test_redirect_loop(staging_client):
    staging_client.get("/loop", follow_redirects=True)

@pytest.mark.smoke
def test_undecodable(staging_client):
    staging_client.get("/bad-gzip")

@pytest.mark.smoke
def test_no_answer(staging_client):
    staging_client.get("/hang")

@pytest.mark.smoke
def test_untrusted(staging_client):
    staging_client.get(UNTRUSTED + "/health")
"""
TRUST_HINT = "--staging-ca-bundle PATH or set SSL_CERT_FILE"


Servers = tuple["FaultServer", "FaultServer", str]


@pytest.fixture
def servers() -> Iterator[Servers]:
    """The target, an HTTPS server whose certificate no client trusts, and the URL of a port
    that refuses every connection."""
    authority = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    with (
        serve_faults() as target,
        serve_faults(tls=context) as untrusted,
        refusing_port() as closed,
    ):
        yield target, untrusted, closed


def expected_lines(target: FaultServer, closed: str) -> dict[str, tuple[str, str]]:
    """Each test's exception class and its one line (fnmatch patterns)."""
    at = f"127.0.0.1:{target.port}"
    return {
        "test_refused": (
            "ConnectError",
            f"GET /api/items: connection refused by {closed.removeprefix('http://')}: "
            "is the service running, is --staging-url right?",
        ),
        "test_reset": (
            "ReadError",
            f"GET /reset: connection reset by {at}: did the service crash or restart? check its logs",
        ),
        "test_closed": (
            "RemoteProtocolError",
            f"GET /close: {at} closed the connection without answering: did the service crash "
            "or restart? check its logs",
        ),
        "test_not_http": (
            "RemoteProtocolError",
            f"GET /garbage: {at} answered with something that is not HTTP (illegal status line: "
            "bytearray(b'\\x1b[[]2J\\x1b[[]HSTAGING GATE: GO')): is it an HTTP server, is the "
            "URL's scheme right?",
        ),
        "test_redirect_loop": (
            "TooManyRedirects",
            "GET /loop: too many redirects (a loop?): check where the service redirects it",
        ),
        "test_undecodable": (
            "DecodingError",
            f"GET /bad-gzip: the answer of {at} could not be decoded (Error -3 while "
            "decompressing data: incorrect header check): check the Content-Encoding and charset "
            "it sends",
        ),
        "test_no_answer": (
            "ReadTimeout",
            "GET /hang: no answer within 1 s (read timeout, --staging-timeout)",
        ),
        "test_untrusted": (
            "ConnectError",
            "GET /health: the target's TLS certificate does not verify (unable to get local "
            f"issuer certificate): for a private CA pass {TRUST_HINT}*",
        ),
    }


def write_tests(pytester: pytest.Pytester, untrusted: FaultServer, closed: str) -> None:
    closed_url = closed.replace("http://", f"http://deployer:{SECRET_PASSWORD}@")
    pytester.makepyfile(
        test_unanswered=FAULT_TESTS.format(
            untrusted=untrusted.url, closed=closed_url, query=SECRET_QUERY
        )
    )


def failure_sections(output: list[str]) -> dict[str, list[str]]:
    """Test name -> the lines of its failure section (up to the next section or summary)."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output:
        header = re.fullmatch(r"_{3,} (test_\w+) _{3,}", line)
        if header:
            current = sections[header[1]] = []
        elif re.match(r"[=_-]+ ", line):  # the next section, or "- generated xml file"
            current = None
        elif current is not None and not line.startswith("[gw"):  # xdist names the worker
            current.append(line)
    return sections


def assert_one_line_each(
    result: pytest.RunResult, expected: dict[str, tuple[str, str]], names: list[str]
) -> None:
    sections = failure_sections(result.stdout.lines)
    assert sorted(sections) == sorted(names)
    for name in names:
        kind, line = expected[name]
        (shown,) = sections[name]
        assert re.fullmatch(_pattern(line), shown), (name, shown)
        result.stdout.fnmatch_lines([f"FAILED test_unanswered.py::{name} - httpx.{kind}: *"])
    text = result.stdout.str()
    for noise in ("Traceback", "httpcore", "tenacity", "site-packages", "[Errno"):
        assert noise not in text
    assert SECRET_PASSWORD not in text
    assert SECRET_QUERY not in text


def _pattern(line: str) -> str:
    """An fnmatch-style line (`*`, `[[]`) as a regular expression."""
    return ".*".join(re.escape(part.replace("[[]", "[")) for part in line.split("*"))


def test_every_transport_error_fails_its_test_with_one_line(
    pytester: pytest.Pytester, servers: Servers
) -> None:
    target, untrusted, closed = servers
    write_tests(pytester, untrusted, closed)
    expected = expected_lines(target, closed)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        f"--staging-url={target.url}",
        "--staging-timeout=1",
        "--junitxml=junit.xml",
    )
    assert result.ret == 1
    assert_one_line_each(result, expected, list(expected))
    junit = ElementTree.parse(pytester.path / "junit.xml").getroot()
    for case in junit.iter("testcase"):
        kind, line = expected[case.get("name", "")]
        (failure,) = case.iter("failure")
        assert re.fullmatch(_pattern(f"httpx.{kind}: {line}"), failure.get("message", ""))
        assert re.fullmatch(_pattern(line), failure.text or "")
    junit_text = (pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert SECRET_PASSWORD not in junit_text
    assert SECRET_QUERY not in junit_text


def test_the_line_is_the_same_from_xdist_workers(
    pytester: pytest.Pytester, servers: Servers
) -> None:
    target, untrusted, closed = servers
    write_tests(pytester, untrusted, closed)
    names = ["test_refused", "test_not_http", "test_untrusted"]
    result = pytester.runpytest_subprocess(
        *INNER_RUN_OPTIONS,
        f"--staging-url={target.url}",
        "--staging-timeout=1",
        "-n",
        "2",
        "-k",
        " or ".join(names),
        timeout=60,
    )
    assert result.ret == 1
    assert_one_line_each(result, expected_lines(target, closed), names)


@pytest.mark.parametrize("option", ["--tb=long", "--full-trace"])
def test_every_frame_is_still_there_for_whoever_asks(
    pytester: pytest.Pytester, servers: Servers, option: str
) -> None:
    target, untrusted, closed = servers
    write_tests(pytester, untrusted, closed)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={target.url}", option, "-k", "test_reset"
    )
    assert result.ret == 1
    text = result.stdout.str()
    assert "httpcore" in text
    result.stdout.fnmatch_lines(["E * httpx.ReadError: [[]Errno 104[]] Connection reset by peer"])
