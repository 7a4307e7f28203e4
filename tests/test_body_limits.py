"""An answer's body is capped once decompressed (`--staging-max-body`, 64 MiB by default).

A decompression bomb (a few hundred KB of gzip, deflate or br that inflate to 256 MiB of
zeros) and a plain body over the limit fail their test with one line naming the request,
the limit and the option, and the test's process never holds the inflated body: the child
run records its own peak memory (`ru_maxrss`), which must stay below the bomb's size. The
deadline of the whole exchange is in `test_deadlines.py`.
"""

from __future__ import annotations

import pytest
from fault_servers import Script, serve_faults
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.settings.defaults import MAX_BODY_BYTES

BOMB_TEST = """
import resource
from pathlib import Path

import pytest

@pytest.mark.smoke
def test_bomb(staging_client):
    try:
        staging_client.get("/bomb")
    finally:
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        Path("peak-kib").write_text(str(peak_kib))

@pytest.mark.smoke
def test_large(staging_client):
    staging_client.get("/huge")
"""
CHILD_TIMEOUT_S = 120.0
BODY_TOO_LARGE = "pytest_staging.http.body_limits.BodyTooLarge"
LIMIT = f"{MAX_BODY_BYTES // (1024 * 1024)} MiB"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_a_decompression_bomb_fails_its_test_naming_the_limit_without_inflating(
    pytester: pytest.Pytester, encoding: str
) -> None:
    pytester.makepyfile(test_limits=BOMB_TEST)
    script = Script(bomb_encoding=encoding)
    with serve_faults(script) as server:
        result = pytester.runpytest_subprocess(
            *INNER_RUN_OPTIONS,
            f"--staging-url={server.url}",
            "-k",
            "test_bomb",
            timeout=CHILD_TIMEOUT_S,
        )
    line = (
        f"GET /bomb: the body is over {LIMIT} decompressed (--staging-max-body): a "
        "decompression bomb? if the answer is meant to be this large, raise the limit"
    )
    result.stdout.fnmatch_lines(
        [line, f"  - FAILED test_limits.py::test_bomb: {BODY_TOO_LARGE}: {line}"]
    )
    assert result.ret == 1
    peak_bytes = int((pytester.path / "peak-kib").read_text()) * 1024
    assert peak_bytes < script.bomb_bytes  # the bomb inflated whole would need more


def test_a_plain_body_over_the_limit_fails_its_test_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_limits=BOMB_TEST)
    with serve_faults(Script(huge_bytes=MAX_BODY_BYTES + 1)) as server:
        result = pytester.runpytest_subprocess(
            *INNER_RUN_OPTIONS,
            f"--staging-url={server.url}",
            "-k",
            "large",
            timeout=CHILD_TIMEOUT_S,
        )
    result.stdout.fnmatch_lines(
        [
            f"GET /huge: the body is over {LIMIT} (--staging-max-body): if the answer is meant "
            "to be this large, raise the limit",
        ]
    )
    assert result.ret == 1


def test_a_compressed_body_under_the_limit_is_read_whole(pytester: pytest.Pytester) -> None:
    """The meter inflates to count, httpx to read: both see the same body."""
    pytester.makepyfile(
        """
        def test_read(staging_client):
            answer = staging_client.get("/bomb")
            assert answer.headers["content-encoding"] == "gzip"
            assert answer.content == bytes(1024 * 1024)
        """
    )
    with serve_faults(Script(bomb_bytes=1024 * 1024)) as server:
        result = pytester.runpytest_subprocess(
            *INNER_RUN_OPTIONS, f"--staging-url={server.url}", timeout=CHILD_TIMEOUT_S
        )
        (request,) = [seen for seen in server.requests if seen.path == "/bomb"]
    result.assert_outcomes(passed=1)
    assert request.header("accept-encoding") == "gzip, deflate, br"


def test_the_limit_is_the_option_s_when_given(pytester: pytest.Pytester) -> None:
    """--staging-max-body=1 (MiB): a 2 MiB gzip body is over it."""
    pytester.makepyfile(test_limits=BOMB_TEST)
    with serve_faults(Script(bomb_bytes=2 * 1024 * 1024)) as server:
        result = pytester.runpytest_subprocess(
            *INNER_RUN_OPTIONS,
            f"--staging-url={server.url}",
            "--staging-max-body=1",
            "-k",
            "test_bomb",
            timeout=CHILD_TIMEOUT_S,
        )
    result.stdout.fnmatch_lines(
        ["GET /bomb: the body is over 1 MiB decompressed (--staging-max-body): *"]
    )
    assert result.ret == 1
