"""A test is every report it produced: failed subtests and duplicated node ids, end to end.

pytest reports a subtest under its test's node id, and the test's own report (a pass, or
a skip) comes after it: the gate folds them, so a failed subtest fails its test, which the
reasons and the JSON report name with the subtest's context (masked and escaped). pytest
reports subtests since 9.0 (unittest's `subTest` and the `subtests` fixture); before, a
unittest subtest's failure fails the test itself, so the gate sees it without folding.
Two items with one node id (`--keep-duplicates`) each count, as pytest counts them.
Against the demo on loopback, in-process and with `-n 2`. The retry plugins are in
`test_retry_plugins.py`; masking of what pytest itself prints is in `test_secret_encodings.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.redaction import MASK

if TYPE_CHECKING:
    from pathlib import Path

SUBTESTS_REPORTED = pytest.version_tuple >= (9, 0)
"""pytest 9.0 reports each subtest; pytest 8 has no `subtests` fixture, and a unittest
subtest's first failure fails its test."""

TOKEN = "subtest-token-8f2c41"
"""A secret (`--staging-token`) that the subtests name in their messages."""

Run = Callable[..., tuple[pytest.RunResult, dict[str, Any]]]


@pytest.fixture
def run_gate(
    pytester: pytest.Pytester,
    demo_url: str,
    read_report: Callable[[Path], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> Run:
    """Run pytest on the pytester folder against the demo, with `TOKEN` as the token,
    in-process or, with `workers`, under xdist in a subprocess; return the result and the
    JSON report."""
    monkeypatch.setenv("PYTEST_STAGING_TOKEN", TOKEN)
    report = pytester.path / "gate.json"

    def run(*args: str, workers: int = 0) -> tuple[pytest.RunResult, dict[str, Any]]:
        options = (*INNER_RUN_OPTIONS, f"--staging-url={demo_url}", f"--staging-report={report}")
        if workers:
            result = pytester.runpytest_subprocess(*options, "-n", str(workers), *args)
        else:
            result = pytester.runpytest(*options, *args)
        return result, read_report(report)

    return run


IN_PROCESS_AND_XDIST = pytest.mark.parametrize("workers", [0, 2], ids=["in-process", "-n2"])


def shown_params(workers: int, **params: int) -> str:
    """A subtest's parameters as pytest shows them: xdist ships them through `repr` once
    more (`(n='1')`), as pytest's own SUBFAILED line shows too."""
    return ", ".join(
        f"{key}={str(value)!r}" if workers else f"{key}={value}" for key, value in params.items()
    )


def smoke_row(report: dict[str, Any]) -> tuple[int, int, int, str]:
    smoke = report["categories"]["smoke"]
    return smoke["passed"], smoke["failed"], smoke["skipped"], smoke["status"]


UNITTEST_SUBTESTS = f"""
import unittest

import pytest


@pytest.mark.smoke
def test_health(staging_client):
    assert staging_client.get("/health").status_code == 200


@pytest.mark.smoke
class TestSums(unittest.TestCase):
    def test_each(self):
        for n in range(3):
            with self.subTest("sum with {TOKEN}\\x1b[2J", n=n):
                self.assertNotEqual(n, 1)
"""


@IN_PROCESS_AND_XDIST
def test_a_failed_unittest_subtest_fails_its_test(
    pytester: pytest.Pytester, run_gate: Run, workers: int
) -> None:
    pytester.makepyfile(test_units=UNITTEST_SUBTESTS)
    result, report = run_gate(workers=workers)
    stdout = result.stdout.str()

    if SUBTESTS_REPORTED:  # pytest says "1 failed, 2 passed": the failed subtest, the two tests
        cause = (
            f"subtest [sum with {MASK}\\x1b[2J] ({shown_params(workers, n=1)}): "
            "AssertionError: 1 == 1"
        )
    else:
        cause = "AssertionError: 1 == 1"
    assert result.ret == 1, stdout
    assert report["verdict"] == "NO-GO"
    assert report["reasons"] == [
        f"FAILED test_units.py::TestSums::test_each: {cause}",
        "smoke: pass rate 50% (1 of 2) is below the threshold 100%",
    ]
    assert smoke_row(report) == (1, 1, 0, "FAIL")
    failed = [test for test in report["tests"] if test["outcome"] == "failed"]
    assert [(test["nodeid"], test["cause"]) for test in failed] == [
        ("test_units.py::TestSums::test_each", cause)
    ]
    assert f"  - FAILED test_units.py::TestSums::test_each: {cause}" in stdout
    assert "STAGING GATE: NO-GO" in stdout
    assert TOKEN not in (pytester.path / "gate.json").read_text(encoding="utf-8")


FIXTURE_SUBTESTS = f"""
import pytest


@pytest.mark.smoke
def test_regions(subtests, staging_client):
    for region in ("eu", "us", "ap"):
        with subtests.test(msg=f"{{region}} with {TOKEN}"):
            assert staging_client.get("/health").status_code == 200
            assert region == "eu", f"{{region}} is down"
    pytest.skip("the regions were checked as subtests")


@pytest.mark.smoke
def test_health(staging_client):
    assert staging_client.get("/health").status_code == 200
"""


@pytest.mark.skipif(not SUBTESTS_REPORTED, reason="pytest < 9.0 has no subtests fixture")
@IN_PROCESS_AND_XDIST
def test_failed_subtests_then_a_skip_fail_the_test(
    pytester: pytest.Pytester, run_gate: Run, workers: int
) -> None:
    pytester.makepyfile(test_regions=FIXTURE_SUBTESTS)
    result, report = run_gate(workers=workers)
    stdout = result.stdout.str()

    cause = f"2 subtests failed, the first [us with {MASK}]: AssertionError: us is down"
    assert result.ret == 1, stdout
    assert report["reasons"] == [
        f"FAILED test_regions.py::test_regions: {cause}",
        "smoke: pass rate 50% (1 of 2) is below the threshold 100%",
    ]
    assert smoke_row(report) == (1, 1, 0, "FAIL")
    by_id = {test["nodeid"]: test for test in report["tests"]}
    assert (
        by_id["test_regions.py::test_regions"]["outcome"],
        by_id["test_regions.py::test_regions"]["cause"],
    ) == ("failed", cause)
    assert by_id["test_regions.py::test_regions"]["requests"] == 3  # each subtest's request
    assert report["requests"]["total"] == 4
    assert "STAGING GATE: NO-GO" in stdout
    assert TOKEN not in (pytester.path / "gate.json").read_text(encoding="utf-8")


PASSING_SUBTESTS = """
import pytest


@pytest.mark.smoke
def test_regions(subtests, staging_client):
    for region in ("eu", "us"):
        with subtests.test(msg=region):
            assert staging_client.get("/health").status_code == 200
"""


@pytest.mark.skipif(not SUBTESTS_REPORTED, reason="pytest < 9.0 has no subtests fixture")
def test_passing_subtests_leave_their_test_passed(pytester: pytest.Pytester, run_gate: Run) -> None:
    pytester.makepyfile(test_regions=PASSING_SUBTESTS)
    result, report = run_gate()
    assert result.ret == 0, result.stdout.str()
    assert report["verdict"] == "GO"
    assert [(test["outcome"], test["requests"]) for test in report["tests"]] == [("passed", 2)]


DUPLICATED = """
import pathlib

import pytest


@pytest.mark.smoke
def test_twice(staging_client):
    assert staging_client.get("/health").status_code == 200
    claim = pathlib.Path(__file__).with_name("first-run")
    try:
        claim.touch(exist_ok=False)
    except FileExistsError:
        return
    raise AssertionError("the first of the two runs fails")
"""


@pytest.mark.parametrize("workers", [0, 1, 2], ids=["in-process", "-n1", "-n2"])
def test_two_items_with_one_node_id_each_count(
    pytester: pytest.Pytester, run_gate: Run, workers: int
) -> None:
    """`--keep-duplicates` collects the file twice: one node id, two runs, on one worker
    (`-n 1`, one after the other) or two; the first fails (it claims a file first), the
    second passes."""
    path = pytester.makepyfile(test_twice=DUPLICATED)
    result, report = run_gate("--keep-duplicates", str(path), str(path), workers=workers)
    stdout = result.stdout.str()

    assert result.ret == 1, stdout
    assert report["reasons"] == [
        "FAILED test_twice.py::test_twice: AssertionError: the first of the two runs fails",
        "smoke: pass rate 50% (1 of 2) is below the threshold 100%",
    ]
    assert smoke_row(report) == (1, 1, 0, "FAIL")
    assert sorted((test["nodeid"], test["outcome"]) for test in report["tests"]) == [
        ("test_twice.py::test_twice", "failed"),
        ("test_twice.py::test_twice", "passed"),
    ]
    assert report["requests"]["total"] == 2
