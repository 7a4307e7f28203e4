"""Security: errors tell the client what went wrong, never how the server is built
(no stack traces, debug pages or version banners)."""

from __future__ import annotations

import re

import httpx
import pytest

from pytest_staging.manifest import Manifest
from pytest_staging.redaction import excerpt, shown
from pytest_staging.run.suite_cases import send

pytestmark = pytest.mark.security
LEAKS = {
    "a Python traceback": re.compile(
        r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+"
    ),
    "a Java stack trace": re.compile(r"\bat [\w$.]+\([\w$]+\.java:\d+\)|Exception in thread"),
    "a .NET stack trace": re.compile(r"\bat [\w.]+\(.*\) in .+:line \d+"),
    "a Node.js stack trace": re.compile(r"\bat .+ \(/.+\.js:\d+:\d+\)"),
    "a PHP error": re.compile(r"(Fatal error|Warning|Parse error): .+ on line \d+"),
    "a debug page": re.compile(
        r"Werkzeug Debugger|Whitelabel Error Page|DEBUG = True|<title>[^<]*Exception"
    ),
    "a server banner": re.compile(r"(Apache|nginx|Microsoft-IIS|Jetty|Tomcat)/\d"),
}
VERSIONED_SERVER = re.compile(r"/\d")


@pytest.fixture(scope="module")
def error_answers(staging_client: httpx.Client, staging_manifest: Manifest) -> list[httpx.Response]:
    answers = [staging_client.get(staging_manifest.not_found_path)]
    if staging_manifest.bad_request is not None:
        answers.append(send(staging_client, staging_manifest.bad_request))
    return answers


def test_error_bodies_leak_no_internals(error_answers: list[httpx.Response]) -> None:
    found = [
        f"{a.request.method} {a.request.url.path} ({a.status_code}) shows {leak}: "
        f"{excerpt(match.group(0), 120)}"
        for a in error_answers
        for leak, pattern in LEAKS.items()
        if (match := pattern.search(a.text))
    ]
    assert not found, "\n".join(found)


def test_no_header_names_the_server_software_version(error_answers: list[httpx.Response]) -> None:
    found = []
    for answer in error_answers:
        where = f"{answer.request.method} {shown(answer.request.url.path)}"
        if "x-powered-by" in answer.headers:
            found.append(f"{where}: X-Powered-By: {shown(answer.headers['x-powered-by'])}")
        server = answer.headers.get("server", "")
        if VERSIONED_SERVER.search(server):
            found.append(f"{where}: Server: {shown(server)}")
    assert not found, "\n".join(found)
