"""Secrets a target hands back encoded are masked like the secrets themselves.

A target echoes the token, a header value and the URL's Basic credentials as JSON (with PHP's
`\\/`, Go's `\\u003c`), as `repr` in both quote styles, as HTML and XML text, URL-encoded
and base64 (`fault_servers.ECHO_ENCODINGS`); a failing `-n 2` run prints, logs, records and
asserts on what came back, and also names the token in subtests' contexts (pytest's
`subtests` and unittest's `subTest`). Every artefact it leaves is then searched for each
form. The narrow tests pin each encoding to the redactor. `test_secrets.py` covers the sinks
themselves.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from fault_servers import ECHO_ENCODINGS, serve_faults
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.redaction import MASK, Redactor, encoded_forms

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PIECE = 12
"""A piece of a form this long, found anywhere, is a leak too (a form cut short)."""


def hexes() -> str:
    """16 random characters: every 12-character piece of a secret holds some of them."""
    return secrets.token_hex(8)


def planted_token() -> str:
    return f"{hexes()}/{hexes()}+{hexes()}\"{hexes()}'{hexes()}<{hexes()}&{hexes()}\\{hexes()}"


def planted_header() -> str:
    return f'{hexes()}\\{hexes()}"{hexes()} {hexes()}/{hexes()}>{hexes()}'


def planted_password() -> str:
    return f"{hexes()}/{hexes()}+{hexes()} {hexes()}"


ECHOING_MODULE = """
import logging
import os
import sys
import unittest

import pytest

TOKEN = os.environ["PYTEST_STAGING_TOKEN"]
logger = logging.getLogger("echoed")


@pytest.fixture(scope="module")
def echoed(staging_client):
    return staging_client.get("/echo", headers={"X-Token": TOKEN}).text


def test_the_echo_is_printed_logged_recorded_and_asserted(echoed, record_property):
    print(echoed)
    print(echoed, file=sys.stderr)
    logger.warning("echoed %s", echoed)
    record_property("echoed", echoed)
    lines = echoed.splitlines()
    assert lines == [], echoed


def test_the_echo_in_an_exception(echoed):
    raise ValueError(echoed)


def test_subtests_name_the_token(subtests):
    with subtests.test(msg=f"with key {TOKEN}", key=TOKEN):
        assert False


class TestUnittest(unittest.TestCase):
    def test_subtest_names_the_token(self):
        with self.subTest(f"with key {TOKEN}", key=TOKEN):
            self.fail("the subtest failed")
"""

REPORTS = (
    "--html=report.html",
    "--self-contained-html",
    "--junitxml=junit.xml",
    "--staging-report=gate.json",
    "--staging-summary-md=summary.md",
    "--log-file=run.log",
)


def forms(values: dict[str, str]) -> dict[str, str]:
    """`name encoding` for each value in each encoding the echo server uses, and as it is."""
    found = dict(values)
    for name, value in values.items():
        found |= {f"{name} {label}": encode(value) for label, encode in ECHO_ENCODINGS.items()}
    return found


def pieces(form: str) -> Iterator[str]:
    return (form[i : i + PIECE] for i in range(len(form) - PIECE + 1))


def leaks(root: Path, values: dict[str, str]) -> dict[str, int]:
    """`file: form` for each form found whole, or in a piece, under `root` (stdout, stderr,
    every report and log)."""
    found = {}
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for name, form in values.items():
            count = data.count(form.encode())
            if count:
                found[f"{path.relative_to(root)}: {name}"] = count
            elif any(piece.encode() in data for piece in pieces(form)):
                found[f"{path.relative_to(root)}: a piece of {name}"] = 1
    return found


def test_no_echoed_encoding_of_a_secret_reaches_any_artefact_of_a_failing_distributed_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    token, header, password = planted_token(), planted_header(), planted_password()
    monkeypatch.setenv("PYTEST_STAGING_TOKEN", token)
    monkeypatch.setenv("PYTEST_STAGING_HEADER", f"X-Planted: {header}")
    # As on any CI: pytest then shows full diffs, which wrap long strings at their spaces and
    # would cut a secret into pieces no sink can match (the sinks mask the operands first).
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(test_echoing=ECHOING_MODULE)
    basic = base64.b64encode(f"user:{password}".encode()).decode()
    with serve_faults() as server:
        url = server.url.replace("://", f"://user:{quote(password, safe='')}@")
        result = pytester.runpytest_subprocess(
            *INNER_RUN_OPTIONS, f"--staging-url={url}", "-n", "2", "-l", "-rA", *REPORTS
        )
        echoes = [seen for seen in server.requests if seen.path == "/echo"]
    stdout = result.stdout.str()

    # The run happened as planted: the target echoed every secret, the tests failed.
    assert [seen.header("x-token") for seen in echoes] == [token], stdout
    assert echoes[0].header("x-planted") == header
    assert echoes[0].header("authorization") == f"Basic {basic}"
    assert result.ret == 1, stdout
    for name in ("report.html", "junit.xml", "gate.json", "summary.md", "run.log"):
        assert (pytester.path / name).is_file(), f"{name} missing\n{stdout}"

    # Not one form, whole or in a piece, in any artefact.
    planted = {"token": token, "header": header, "password": password, "pair": f"user:{password}"}
    assert leaks(pytester.path, forms(planted)) == {}

    # The forms were there, and masked.
    assert f'x-token json-slash: "{MASK}"' in stdout
    assert f"basic password base64: {MASK}" in stdout
    assert f"x-planted repr: '{MASK}'" in stdout
    # (xdist ships a subtest's parameters through repr once more: `(key="'***'")`.)
    assert stdout.count(f"SUBFAILED[with key {MASK}] (key=\"'{MASK}'\")") == 2, stdout


def test_subtest_contexts_are_masked_in_process(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytest's `subtests` fixture and unittest's `subTest` name the token in their
    contexts (`SUBFAILED[with key ...] (key=...)`), and JUnit names the subtest too."""
    token = planted_token()
    monkeypatch.setenv("PYTEST_STAGING_TOKEN", token)
    pytester.makepyfile(test_echoing=ECHOING_MODULE)
    with serve_faults() as server:
        result = pytester.runpytest(
            *INNER_RUN_OPTIONS,
            f"--staging-url={server.url}",
            "-k",
            "subtest",
            "-rA",
            "--junitxml=junit.xml",
        )
    stdout = result.stdout.str()
    assert stdout.count(f"SUBFAILED[with key {MASK}] (key='{MASK}')") >= 2, stdout
    assert leaks(pytester.path, forms({"token": token})) == {}
    assert token not in stdout


# --- the redactor --------------------------------------------------------------------------


HOSTILE = "to/k\"e\\n'<é>&+ x"


@pytest.mark.parametrize("encoding", sorted(ECHO_ENCODINGS))
def test_each_encoding_of_a_registered_value_is_masked(encoding: str) -> None:
    secrets_ = Redactor()
    secrets_.register([HOSTILE])
    masked = secrets_.redact(ECHO_ENCODINGS[encoding](HOSTILE))
    assert MASK in masked
    assert set(masked.replace(MASK, "")) <= set("\"'"), masked  # at most the quotes are left


@pytest.mark.parametrize(
    "encoded",
    [
        json.dumps(HOSTILE, ensure_ascii=False)[1:-1],  # UTF-8 JSON
        json.dumps(HOSTILE)[1:-1].replace("\\u00e9", "\\u00E9"),  # upper-case hex
        ascii(HOSTILE)[1:-1],
        quote(HOSTILE, safe="").lower(),  # lower-case percent-encoding
        base64.b64encode(HOSTILE.encode()).decode().rstrip("="),
    ],
)
def test_other_common_forms_are_masked(encoded: str) -> None:
    secrets_ = Redactor()
    secrets_.register([HOSTILE])
    assert secrets_.redact(f"[{encoded}]") == f"[{MASK}]"


def test_basic_credentials_are_derived_from_the_pair() -> None:
    secrets_ = Redactor()
    secrets_.register(["alice:s3cret/pass"])
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        wire = encode(b"alice:s3cret/pass").decode()
        assert secrets_.redact(f"Basic {wire}") == f"Basic {MASK}"


def test_a_plain_token_adds_only_its_base64() -> None:
    """Encoding a value made of letters, digits and `-_.` changes nothing but its base64, so
    the usual token costs the redactor two values, not twenty."""
    assert encoded_forms("plain-token_1.2") == {"plain-token_1.2", "cGxhaW4tdG9rZW5fMS4y"}
