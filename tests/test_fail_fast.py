"""`--staging-fail-fast`: the run stops once its verdict is certainly NO-GO, with and
without xdist, and every report says why it stopped.

Issue 14, defect 11. The target is the demo service on loopback; the degraded demo answers
/health with 503, as a deployment with a dead database does.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.report.markdown import text

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

Read = Callable[["Path"], dict[str, Any]]

HEALTH_THEN_LOAD = """
import os, socket
import pytest

def barrier(message):
    address = ("127.0.0.1", int(os.environ["BARRIER_PORT"]))
    with socket.create_connection(address, timeout=60) as connection:
        connection.sendall(message)
        assert connection.recv(2) == b"ok"

@pytest.fixture
def then_open_the_barrier():
    yield  # the failed call's report is on its way to the controller before this runs
    barrier(b"open")

@pytest.fixture
def after_the_barrier():
    barrier(b"wait")

@pytest.mark.smoke
@pytest.mark.critical
def test_health_answers_200(then_open_the_barrier, staging_client):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.performance
@pytest.mark.parametrize("n", range(40))
def test_items_under_load(n, after_the_barrier, staging_client):
    for _ in range(5):
        staging_client.get("/api/items")
"""
"""Under xdist the other worker would run every load test while the health check retries
its 503: each load test waits until the health test has failed and reported."""
HEALTH = "test_service.py::test_health_answers_200"
CRITICAL = f"critical test failed: {HEALTH}: AssertionError: assert 503 == 200"
STOPPED = "--staging-fail-fast stopped the run once the verdict was certain: not every test ran"


@contextlib.contextmanager
def loopback_barrier() -> Iterator[int]:
    """A loopback server for the inner tests to wait on without polling: a client that sends
    b"open" opens it; every other client is answered once it is open. Yields its port."""
    opened = threading.Event()
    server = socket.create_server(("127.0.0.1", 0))

    def answer(connection: socket.socket) -> None:
        with connection:
            if connection.recv(4) == b"open":
                opened.set()
            opened.wait(60)
            connection.sendall(b"ok")

    def serve() -> None:
        with contextlib.suppress(OSError):  # closed: the test is over
            while True:
                connection, _ = server.accept()
                threading.Thread(target=answer, args=(connection,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        opened.set()
        server.close()


@pytest.fixture
def barrier(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with loopback_barrier() as port:
        monkeypatch.setenv("BARRIER_PORT", str(port))
        yield


def fail_fast_run(
    pytester: pytest.Pytester, url: str, *args: str, subprocess: bool = False
) -> pytest.RunResult:
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    return run(
        *INNER_RUN_OPTIONS,
        f"--staging-url={url}",
        "--staging-report=gate.json",
        "--staging-summary-md=summary.md",
        "--staging-fail-fast",
        *args,
    )


@pytest.mark.usefixtures("barrier")
def test_a_critical_failure_stops_the_run_before_the_load(
    pytester: pytest.Pytester, demo_servers: Callable[..., str], read_report: Read
) -> None:
    pytester.makepyfile(test_service=HEALTH_THEN_LOAD)

    result = fail_fast_run(pytester, demo_servers("degraded"))
    report = read_report(pytester.path / "gate.json")

    assert result.ret == 1
    assert [test["nodeid"] for test in report["tests"]] == [HEALTH]
    assert "GET /api/items" not in report["latency"]
    assert report["fail_fast"] == CRITICAL
    assert report["reasons"][:2] == [CRITICAL, STOPPED]
    assert report["interrupted"] is False
    assert result.stdout.lines[-len(report["reasons"]) - 1 :] == [
        "STAGING GATE: NO-GO",
        *(f"  - {reason}" for reason in report["reasons"]),
    ]
    assert f"- {text(STOPPED)}\n" in (pytester.path / "summary.md").read_text(encoding="utf-8")


@pytest.mark.usefixtures("barrier")
def test_under_xdist_the_controller_stops_the_workers(
    pytester: pytest.Pytester, demo_servers: Callable[..., str], read_report: Read
) -> None:
    pytester.makepyfile(test_service=HEALTH_THEN_LOAD)

    result = fail_fast_run(pytester, demo_servers("degraded"), "-n", "2", subprocess=True)
    report = read_report(pytester.path / "gate.json")

    ran = [test["nodeid"] for test in report["tests"]]
    assert result.ret == 1
    assert HEALTH in ran
    assert len(ran) < 41  # the tests already handed to a worker finish, no new one starts
    assert STOPPED in report["reasons"]
    assert report["interrupted"] is False
    assert report["exit_code"] == 1


SMOKE_FAILS_AT_ONE = """
import pytest

@pytest.mark.smoke
@pytest.mark.parametrize("n", range(3))
def test_items(n, staging_client):
    assert staging_client.get("/api/items").status_code == 200
    assert n != 1

@pytest.mark.integration
@pytest.mark.parametrize("n", range(5))
def test_after(n):
    pass
"""


def test_a_category_that_cannot_reach_its_threshold_stops_the_run(
    pytester: pytest.Pytester, demo_url: str, read_report: Read
) -> None:
    pytester.makepyfile(test_service=SMOKE_FAILS_AT_ONE)

    result = fail_fast_run(pytester, demo_url)
    report = read_report(pytester.path / "gate.json")

    assert result.ret == 1
    assert len(report["tests"]) == 2
    assert report["fail_fast"] == (
        "smoke: 1 of 3 tests failed already, so the pass rate can reach at most 66.7%, "
        "below the threshold 100%"
    )
    assert STOPPED in report["reasons"]


def test_under_xdist_a_category_out_of_reach_stops_the_run_too(
    pytester: pytest.Pytester, demo_url: str, read_report: Read
) -> None:
    """The controller does not know which categories the tests still to run are in, so it
    counts each in every category: the reason's counts are bounds, the verdict is the same."""
    pytester.makepyfile(test_service=SMOKE_FAILS_AT_ONE)

    result = fail_fast_run(pytester, demo_url, "-n", "2", subprocess=True)
    report = read_report(pytester.path / "gate.json")

    assert result.ret == 1
    assert report["fail_fast"].startswith("smoke: 1 of ")
    assert report["interrupted"] is False
    assert STOPPED in report["reasons"]


WITHIN_TOLERANCE = """
import pytest

@pytest.mark.integration
@pytest.mark.parametrize("n", range(30))
def test_items(n, staging_client):
    assert staging_client.get("/api/items").status_code == 200
    assert n != 0
"""


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["alone", "xdist"])
def test_a_failure_within_tolerance_does_not_stop_the_run(
    pytester: pytest.Pytester, demo_url: str, read_report: Read, xdist: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_service=WITHIN_TOLERANCE)

    result = fail_fast_run(pytester, demo_url, *xdist, subprocess=bool(xdist))
    report = read_report(pytester.path / "gate.json")

    assert result.ret == 0
    assert len(report["tests"]) == 30
    assert report["fail_fast"] is None
    assert report["verdict"] == "GO"
