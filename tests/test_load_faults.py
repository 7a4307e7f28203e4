"""What no load threshold allows: exceptions raised in locust tasks, a locust exit code the
numbers do not explain, and a locustfile that is not a regular file (a FIFO, a device).

Against the healthy demo on loopback, whose requests all succeed: each NO-GO here comes
from the run itself, never from failed requests. Failed requests and the default error
rate are in test_load_failures.py; thresholds in test_load.py; TLS in test_load_tls.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inner_run import INNER_RUN_OPTIONS

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

Report = dict[str, Any]

ASSERTING_LOCUSTFILE = """
from locust import FastHttpUser, constant, task


class Checks(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def health(self):
        r = self.client.get("/health")
        assert r.json()["status"] == "ok"
"""
EXITING_LOCUSTFILE = """
from locust import FastHttpUser, constant, events, task


class Fine(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def health(self):
        self.client.get("/health")


@events.quitting.add_listener
def judge(environment, **_):
    environment.process_exit_code = 3  # the locustfile's own verdict: a failed run
"""
USER_TESTS = """
from pathlib import Path

import pytest

pytestmark = pytest.mark.performance
HERE = Path(__file__).parent


def test_asserting(staging_load):
    staging_load.run(locustfile=HERE / "asserting.py", users=2, duration="2s", error_rate=100)


def test_exiting(staging_load):
    staging_load.run(locustfile=HERE / "exiting.py", users=2, duration="2s")
"""


def test_task_exceptions_and_an_unexplained_exit_code_are_no_go_whatever_the_error_rate(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], demo_url: str
) -> None:
    """Before: `load OK ... 0% failed` and GO, exit 0, though locust itself exited 1 (the
    task's assert failed every time) and 3 (the locustfile's own verdict)."""
    pytester.makepyfile(
        asserting=ASSERTING_LOCUSTFILE, exiting=EXITING_LOCUSTFILE, test_user_loads=USER_TESTS
    )
    report_path = pytester.path / "gate.json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", f"--staging-report={report_path}"
    )
    report = read_report(report_path)

    result.assert_outcomes(failed=2)
    assert result.ret == 1
    assert report["verdict"] == "NO-GO"
    runs = {run["nodeid"].partition("::")[2]: run for run in report["load"]}
    asserting, exiting = runs["test_asserting"], runs["test_exiting"]

    # Every request succeeded and error_rate = 100 allows anything: the exceptions fail it.
    assert asserting["requests"] > 0
    assert (asserting["failures"], asserting["ok"], asserting["exit_code"]) == (0, False, 1)
    (error,) = asserting["task_errors"]
    assert error == {
        "error": 'assert r.json()["status"] == "ok"',  # a bare assert: the line that raised
        "count": error["count"],
        "where": "asserting.py:10",
    }
    assert error["count"] >= asserting["requests"] - 2  # each request's task raised (users: 2)
    summary = f'task errors {error["count"]} (assert r.json()["status"] == "ok")'
    assert asserting["notes"] == ["error rate 0% <= 100%", summary]
    assert (
        f"performance: load asserting.py: 2 users for 2s: locust tasks raised {error['count']} "
        f"exception(s), and none is allowed (fix the service or the locustfile): "
        f'assert r.json()["status"] == "ok" ({error["count"]}, at asserting.py:10)'
    ) in report["reasons"]
    # The test's own cause names the fault in brief; the reason above carries the detail.
    assert (
        f"FAILED test_user_loads.py::test_asserting: Failed: load asserting.py: 2 users for "
        f"2s: {summary}"
    ) in report["reasons"]
    (line,) = [line for line in result.outlines if line.startswith("load FAIL: asserting.py")]
    assert ", 0% failed, p95 " in line
    assert line.endswith(f" ms; error rate 0% <= 100%; {summary}")

    assert (exiting["failures"], exiting["task_errors"], exiting["exit_code"]) == (0, [], 3)
    assert exiting["ok"] is False
    assert exiting["notes"] == ["error rate 0% <= 0.1% (default)", "locust exit code 3"]
    (reason,) = [r for r in report["reasons"] if r.startswith("performance: load exiting.py")]
    assert reason.startswith(
        "performance: load exiting.py: 2 users for 2s: locust exited with code 3, which neither "
        "a failed request nor a task error explains (locust itself, or a locustfile's "
        "environment.process_exit_code, reported a problem): see "
    )
    assert reason.endswith("locust.log")


NOT_A_FILE_TESTS = """
from pathlib import Path

import pytest


@pytest.mark.performance
@pytest.mark.parametrize("locustfile", ["fifo", "/dev/zero"])
def test_not_a_file(staging_load, locustfile):
    staging_load.run(locustfile=Path(locustfile), users=1, duration="1s")
"""


def test_a_locustfile_that_is_a_fifo_or_a_device_is_named_as_such(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], demo_url: str
) -> None:
    """Before: "locustfile fifo does not exist" (and /dev/zero the same). A manifest's
    `[load] locustfile` is the same path at test time (the start-time check of the manifest
    is manifest_builder's)."""
    os.mkfifo(pytester.path / "fifo")
    pytester.makepyfile(test_not_a_file=NOT_A_FILE_TESTS)
    report_path = pytester.path / "gate.json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", f"--staging-report={report_path}"
    )
    report = read_report(report_path)

    result.assert_outcomes(failed=2)
    assert report["verdict"] == "NO-GO"
    for locustfile, kind in (("fifo", "a FIFO"), ("/dev/zero", "a character device")):
        name = f"{Path(locustfile).name}: 1 users for 1s"
        assert (
            f"performance: load {name}: no result: locustfile {locustfile}: it is {kind}, "
            f"not a regular file: name a file"
        ) in report["reasons"]
        # the test's own cause says what failed; the reason above says why, once
        assert (
            f"FAILED test_not_a_file.py::test_not_a_file[{locustfile}]: Failed: load {name}: "
            f"no result"
        ) in report["reasons"]
    assert "does not exist" not in result.stdout.str()


PROCESSES_TESTS = """
from pathlib import Path

import pytest


@pytest.mark.performance
def test_asserting_in_worker_processes(staging_load):
    locustfile = Path(__file__).with_name("asserting.py")
    staging_load.run(locustfile=locustfile, users=2, duration="2s", processes=2)


@pytest.mark.smoke
def test_health(staging_client):
    assert staging_client.get("/health").status_code == 200
"""


def test_task_errors_of_locust_worker_processes_reach_the_controller_under_xdist(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], demo_url: str
) -> None:
    """locust's workers send their exceptions to its master, which reports them; the entry
    rides on the test's report from the xdist worker to the controller, which gates."""
    pytester.makepyfile(asserting=ASSERTING_LOCUSTFILE, test_processes=PROCESSES_TESTS)
    report_path = pytester.path / "gate.json"
    result = pytester.runpytest_subprocess(
        *INNER_RUN_OPTIONS,
        "-n",
        "2",
        f"--staging-url={demo_url}",
        f"--staging-report={report_path}",
        timeout=240,
    )
    report = read_report(report_path)

    assert result.ret == 1, result.stdout.str()
    assert report["verdict"] == "NO-GO"
    (run,) = report["load"]
    assert (run["processes"], run["failures"], run["ok"], run["exit_code"]) == (2, 0, False, 1)
    (error,) = run["task_errors"]
    assert (error["where"], error["count"] > 0) == ("asserting.py:10", True)
    assert any(r.startswith("performance: load asserting.py: ") for r in report["reasons"])
