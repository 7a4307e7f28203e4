"""A target cannot write to the terminal, nor to any report, through what it answers.

A loopback server (`fault_servers.py`) answers a body that clears the screen and prints a fake
`STAGING GATE: GO` (ANSI escapes, CR/LF, a bidi override, the one-byte CSI, BEL, NUL), a
Content-Type holding a bidi override and the one-byte CSI, a redirect to a path that decodes to
ESC and CR/LF, and bytes that are no HTTP. The plugin runs as a user runs it, a real process
writing every artefact; none of them may hold a control character from the target, nor the
fake line at the start of a line, and each must still show the target's text, escaped.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from fault_servers import Script, serve_faults
from inner_run import INNER_RUN_OPTIONS

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

HOSTILE_TESTS = """
import pytest
from pytest_staging.assertions import assert_status, json_body

@pytest.mark.smoke
def test_body(staging_client):
    assert_status(staging_client.get("/hostile"), 200)

@pytest.mark.smoke
def test_header(staging_client):
    json_body(staging_client.get("/hostile-type"))

@pytest.mark.smoke
def test_redirected_path(staging_client):
    assert_status(staging_client.get("/redirect-hostile", follow_redirects=True), 200)

@pytest.mark.smoke
def test_not_http(staging_client):
    staging_client.get("/garbage")
"""
ARTEFACTS = ("stdout", "stderr", "junit.xml", "report.html", "gate.json", "summary.md")
FROM_THE_TARGET = ("\x1b", "\r", "\x9b", "\x07", "\x00", "\u202e", "\u202c")
"""Every control character the server sends (LF aside: each artefact has lines of its own)."""
FAKE_LINE = re.compile(r"^\W*STAGING GATE: GO\b", re.MULTILINE)
ESCAPED_BODY = r"\x1b[2J\x1b[H\x1b[32mSTAGING GATE: GO\x1b[0m\r\nSTAGING GATE: GO\n\u202eOG"


def run_hostile(pytester: pytest.Pytester, url: str, *args: str) -> dict[str, str]:
    """Run pytest as a child process writing every report; each artefact's text, checked
    byte for byte to hold nothing the target sent raw."""
    pytester.makepyfile(HOSTILE_TESTS)
    pytester.runpytest_subprocess(
        *INNER_RUN_OPTIONS,
        f"--staging-url={url}",
        "--junitxml=junit.xml",
        "--html=report.html",
        "--self-contained-html",
        "--staging-report=gate.json",
        "--staging-summary-md=summary.md",
        *args,
        timeout=60,
    )
    texts = {}
    for name in ARTEFACTS:
        path: Path = pytester.path / name
        text = path.read_bytes().decode("utf-8")
        raw = [char for char in FROM_THE_TARGET if char in text]
        assert raw == [], f"{name} holds {raw!r}"
        assert not FAKE_LINE.search(text.replace("\r", "\n")), f"{name} starts a line with it"
        texts[name] = text
    return texts


def test_a_hostile_answer_is_escaped_in_every_artefact(pytester: pytest.Pytester) -> None:
    with serve_faults() as server:
        texts = run_hostile(pytester, server.url)
    stdout = texts["stdout"].splitlines()
    assert "STAGING GATE: NO-GO" in stdout
    assert f"E       body: {ESCAPED_BODY} :ETAG GNIGATS\\u202c \\x9b2J\\x07\\x00 end" in stdout
    assert (
        r"E       AssertionError: GET /hostile-type: expected a JSON body, got text/plain\u202e; \x9b2J fake"
        in stdout
    )
    assert (
        r"E       AssertionError: GET /\x1b[2J\r\nSTAGING GATE: GO: expected status 200, got 404"
        in stdout
    )
    assert (
        r"GET /garbage: 127.0.0.1:{port} answered with something that is not HTTP (illegal "
        r"status line: bytearray(b'\x1b[2J\x1b[HSTAGING GATE: GO')): is it an HTTP server, "
        r"is the URL's scheme right?"
    ).replace("{port}", str(server.port)) in stdout
    report = json.loads(texts["gate.json"])
    assert report["verdict"] == "NO-GO"
    assert r"GET /\x1b[2J\r\nSTAGING GATE: GO" in report["latency"]  # the redirect's path
    assert ESCAPED_BODY in texts["junit.xml"]
    assert "GNIGATS" in texts["report.html"]  # the last answer, escaped


def test_a_hostile_health_answer_is_escaped_in_the_reasons(pytester: pytest.Pytester) -> None:
    """Readiness quotes the health answer in each attempt and in its reason, which every
    report repeats."""
    with serve_faults(Script(health_hostile=True)) as server:
        texts = run_hostile(pytester, server.url, "--staging-wait=1")
    report = json.loads(texts["gate.json"])
    (reason,) = report["reasons"]
    assert re.fullmatch(
        r"target not ready after .* s \(\d+ attempt\(s\)\): GET /health answered 500 "
        r"\(expected 200\): .*",
        reason,
    ), reason
    assert ESCAPED_BODY in reason
    assert f"  - {reason}" in texts["stdout"].splitlines()
    assert "GNIGATS" in texts["summary.md"]
    assert "GNIGATS" in texts["junit.xml"]
    assert "GNIGATS" in texts["report.html"]
