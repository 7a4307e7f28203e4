"""Every request has a deadline for its whole exchange, headers and body included.

httpx's timeout bounds each wait, so a target that drips its answer a byte at a time, each
byte within the timeout, held a run for minutes: the readiness wait past `--staging-wait`,
a test past any timeout. Here the drip is far longer than the safety net of each child run
(`CHILD_TIMEOUT_S`), so a run that is not cut at its deadline fails by that timeout; a run
that is cut ends with one line naming the request and the deadline. The server counts what
arrived, so the readiness test sees that its wait made a second attempt after the first was
cut. The body limit (`--staging-max-body`) is in `test_body_limits.py`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from fault_servers import Script, serve_faults
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.http.client import build_client
from pytest_staging.http.deadlines import DeadlineBackend
from pytest_staging.http.target import StagingTarget
from pytest_staging.phase_log import PhaseLog
from pytest_staging.settings.defaults import DEADLINE_TIMEOUTS
from pytest_staging.settings.resolution import StagingSettings

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

CHILD_TIMEOUT_S = 60.0
"""The safety net: each drip below lasts well over this."""
HEADER_DRIP = Script(health_drip_headers=True, drip_bytes=300, drip_interval_s=0.5)
"""About 400 bytes of status line and headers, one every 0.5 s: over three minutes."""
SLOW_HEADERS = """
import pytest

@pytest.mark.smoke
def test_headers(staging_client):
    staging_client.get("/drip-headers")

@pytest.mark.smoke
def test_body(staging_client):
    staging_client.get("/drip")
"""


def test_a_health_endpoint_that_drips_its_headers_cannot_stretch_the_wait(
    pytester: pytest.Pytester, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    """`--staging-wait=3 --staging-timeout=2` once ran 40+ s here; now the first attempt is
    cut at its 2 s, a second gets the time left, and the run stops not ready."""
    pytester.makepyfile(test_never_runs="def test_x(): pass")
    with serve_faults(HEADER_DRIP) as server:
        result = pytester.runpytest_subprocess(
            *INNER_RUN_OPTIONS,
            f"--staging-url={server.url}",
            "--staging-wait=3",
            "--staging-timeout=2",
            "--staging-report=gate.json",
            timeout=CHILD_TIMEOUT_S,
        )
        attempts = server.count("/health")
    report = read_report(pytester.path / "gate.json")
    (reason,) = report["reasons"]
    assert re.fullmatch(
        r"target not ready after \d\.\d s \(2 attempt\(s\)\): GET /health got no answer "
        r"\(ReadTimeout: no complete answer within 0\.\d+ s \(the attempt's time: "
        r"--staging-timeout, within --staging-wait\)\)",
        reason,
    ), reason
    assert attempts == 2  # 2 s, a 0.25 s pause, then the 0.75 s left
    assert result.ret == report["exit_code"] != 0


@pytest.mark.parametrize(
    ("test", "path"), [("test_headers", "/drip-headers"), ("test_body", "/drip")]
)
def test_a_request_is_cut_at_its_deadline_with_one_line_naming_it(
    pytester: pytest.Pytester, test: str, path: str
) -> None:
    """Each byte comes within the 0.5 s timeout; the deadline, 3 timeouts, cuts the request."""
    pytester.makepyfile(SLOW_HEADERS)
    with serve_faults(Script(drip_bytes=1000, drip_interval_s=0.2)) as server:
        result = pytester.runpytest_subprocess(
            *INNER_RUN_OPTIONS,
            f"--staging-url={server.url}",
            "--staging-timeout=0.5",
            "-k",
            test,
            timeout=CHILD_TIMEOUT_S,
        )
    line = (
        f"GET {path}: no complete answer within {DEADLINE_TIMEOUTS * 0.5:g} s "
        "(--staging-request-deadline)"
    )
    result.stdout.fnmatch_lines([line, f"  - FAILED test_*.py::{test}: *{line}"])
    assert result.ret == 1


def test_the_session_client_reads_through_the_deadline_backend() -> None:
    """The deadline reaches httpx's private pool: if httpx moves it, this fails first."""
    settings = StagingSettings(url="http://127.0.0.1:1")
    target = StagingTarget.from_url(settings.url, "staging")
    with build_client(settings, target, PhaseLog()) as client:
        pool = client._transport._inner._inner._pool  # type: ignore[attr-defined]
        assert isinstance(pool._network_backend, DeadlineBackend)


def test_the_deadline_is_the_option_s_when_given(pytester: pytest.Pytester) -> None:
    """--staging-request-deadline shorter than the default (3 x the 5 s timeout) cuts first."""
    pytester.makepyfile(SLOW_HEADERS)
    with serve_faults(Script(drip_bytes=1000, drip_interval_s=0.2)) as server:
        result = pytester.runpytest_subprocess(
            *INNER_RUN_OPTIONS,
            f"--staging-url={server.url}",
            "--staging-timeout=5",
            "--staging-request-deadline=1",
            "-k",
            "test_headers",
            timeout=CHILD_TIMEOUT_S,
        )
    result.stdout.fnmatch_lines(
        ["GET /drip-headers: no complete answer within 1 s (--staging-request-deadline)"]
    )
    assert result.ret == 1
