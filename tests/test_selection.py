"""A run that checked only part of the tests says so everywhere, and a re-run never GOes.

Issue 14, defect 7: `pytest suites -k health` gave GO over 5 of 38 tests and no report
said so; `pytest ... || pytest --lf ...` turned a NO-GO into a GO over the re-run subset.
Every run here targets the demo service on loopback.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.cli import main

if TYPE_CHECKING:
    from pathlib import Path

SEVEN_TESTS = """
import pytest

@pytest.mark.smoke
@pytest.mark.parametrize("n", range(2))
def test_health(n, staging_client):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.integration
@pytest.mark.parametrize("n", range(5))
def test_items(n, staging_client):
    assert staging_client.get("/api/items").status_code == 200
"""
PARTIAL_NOTE = "partial run: 5 of 7 tests deselected (-k health)"

Read = Callable[["Path"], dict[str, Any]]


def gate_run(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        *INNER_RUN_OPTIONS,
        f"--staging-url={url}",
        "--staging-report=gate.json",
        "--staging-summary-md=summary.md",
        *args,
    )


def test_a_run_narrowed_by_k_goes_and_every_report_says_what_it_left_out(
    pytester: pytest.Pytester, demo_url: str, read_report: Read
) -> None:
    pytester.makepyfile(test_service=SEVEN_TESTS)

    result = gate_run(pytester, demo_url, "-k", "health", "--html=report.html")
    report = read_report(pytester.path / "gate.json")

    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "staging selection: -k health: a partial run is noted "
            "(allow_partial = false makes it NO-GO)",
            "*collected 7 items / 5 deselected / 2 selected*",
            "staging: partial run: 5 of 7 tests deselected",
        ]
    )
    block = result.stdout.lines[-2:]
    assert block == [f"note: {PARTIAL_NOTE}", "STAGING GATE: GO"]
    assert report["notes"] == [PARTIAL_NOTE]
    assert report["selection"] == {
        "deselected": 5,
        "options": ["-k health"],
        "rerun": None,
        "allow_partial": True,
    }
    summary = (pytester.path / "summary.md").read_text(encoding="utf-8")
    assert f"**Notes**\n\n- {PARTIAL_NOTE}\n" in summary
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    assert f"<h4>Notes</h4><ul><li>{html.escape(PARTIAL_NOTE)}</li></ul>" in page


def test_under_xdist_the_workers_deselected_tests_are_counted(
    pytester: pytest.Pytester, demo_url: str, read_report: Read
) -> None:
    pytester.makepyfile(test_service=SEVEN_TESTS)

    result = pytester.runpytest_subprocess(
        *INNER_RUN_OPTIONS,
        f"--staging-url={demo_url}",
        "--staging-report=gate.json",
        "-k",
        "health",
        "-n",
        "2",
    )
    report = read_report(pytester.path / "gate.json")

    assert result.ret == 0
    assert report["selection"]["deselected"] == 5
    assert report["notes"] == [PARTIAL_NOTE]


ALLOW_PARTIAL_FALSE = "[service]\nname = 'items'\n[gates]\nallow_partial = false\n"


@pytest.mark.parametrize(
    ("sources", "go"),
    [
        ({"manifest": ALLOW_PARTIAL_FALSE}, False),
        ({"ini": "staging_allow_partial = false"}, False),
        ({"env": "0"}, False),
        ({"cli": "--staging-allow-partial=no"}, False),
        ({"manifest": ALLOW_PARTIAL_FALSE, "cli": "--staging-allow-partial"}, True),
        ({"manifest": ALLOW_PARTIAL_FALSE, "ini": "staging_allow_partial = yes"}, True),
    ],
    ids=["manifest", "ini", "env", "cli", "cli-over-manifest", "ini-over-manifest"],
)
def test_allow_partial_false_makes_a_narrowed_run_no_go(
    pytester: pytest.Pytester, demo_url: str, read_report: Read, sources: dict[str, str], go: bool
) -> None:
    pytester.makepyfile(test_service=SEVEN_TESTS)
    if "manifest" in sources:
        pytester.makefile(".toml", staging=sources["manifest"])
    if "ini" in sources:
        pytester.makeini(f"[pytest]\n{sources['ini']}\n")
    args = [sources["cli"]] if "cli" in sources else []

    with pytest.MonkeyPatch.context() as patch:
        if "env" in sources:
            patch.setenv("PYTEST_STAGING_ALLOW_PARTIAL", sources["env"])
        result = gate_run(pytester, demo_url, "-k", "health", *args)
    report = read_report(pytester.path / "gate.json")

    assert result.ret == (0 if go else 1)
    assert report["selection"]["allow_partial"] is go
    if go:
        assert report["notes"] == [PARTIAL_NOTE]
    else:
        assert report["reasons"] == [
            f"{PARTIAL_NOTE}, and allow_partial = false makes a partial run NO-GO"
        ]
        result.stdout.fnmatch_lines(
            ["staging selection: -k health: a partial run is NO-GO (allow_partial = false)"]
        )


def test_a_selection_that_leaves_nothing_out_is_not_partial(
    pytester: pytest.Pytester, demo_url: str, read_report: Read
) -> None:
    pytester.makepyfile(test_service=SEVEN_TESTS)

    result = gate_run(
        pytester, demo_url, "-m", "smoke or integration", "--staging-allow-partial=no"
    )
    report = read_report(pytester.path / "gate.json")

    assert result.ret == 0
    assert report["selection"]["deselected"] == 0
    assert report["notes"] == []


FAILS_UNTIL_FIXED = """
import pathlib
import pytest

@pytest.mark.smoke
def test_health(staging_client):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.smoke
def test_broken_later(staging_client):
    assert staging_client.get("/api/items").status_code == 200
    assert not pathlib.Path("fixed").exists(), "broken by the fix"

@pytest.mark.smoke
def test_fixed_later(staging_client):
    assert staging_client.get("/api/items").status_code == 200
    assert pathlib.Path("fixed").exists(), "not fixed yet"
"""
"""Run 1: test_fixed_later fails (last, so `--sw` stops there). Then the "fix" breaks
test_broken_later, which a re-run of the last failures does not run again."""


WITH_CACHE = ("-W", "ignore::pytest.PytestAssertRewriteWarning")
"""The inner runs' options, with the cache that --lf, --sw and --ff read."""


@pytest.mark.parametrize("rerun", ["--lf", "--sw"])
def test_a_rerun_of_the_last_failures_never_goes(
    pytester: pytest.Pytester, demo_url: str, read_report: Read, rerun: str
) -> None:
    pytester.makepyfile(test_service=FAILS_UNTIL_FIXED)
    options = (*WITH_CACHE, f"--staging-url={demo_url}", "--staging-report=gate.json")
    first = pytester.runpytest(*options, *(["--sw"] if rerun == "--sw" else []))
    assert first.ret != 0  # --sw stops there: pytest's own "interrupted"
    (pytester.path / "fixed").touch()

    again = pytester.runpytest(*options, rerun)
    report = read_report(pytester.path / "gate.json")

    assert [test["outcome"] for test in report["tests"]] == ["passed"] * len(report["tests"])
    assert again.ret == 1
    assert report["selection"]["rerun"] == rerun
    assert (
        f"{rerun} chose the tests by an earlier run's results: a re-run never gives GO, "
        "run every test again"
    ) in report["reasons"]
    again.stdout.fnmatch_lines(
        [
            f"staging selection: {rerun}: {rerun} chooses the tests by an earlier run's results: no GO"
        ]
    )
    whole = pytester.runpytest(*options)
    assert whole.ret == 1
    assert read_report(pytester.path / "gate.json")["reasons"][0].startswith(
        "FAILED test_service.py::test_broken_later: AssertionError: broken by the fix"
    )


def test_failed_first_only_reorders_so_the_whole_run_may_go(
    pytester: pytest.Pytester, demo_url: str, read_report: Read
) -> None:
    pytester.makepyfile(test_service=FAILS_UNTIL_FIXED.replace("not pathlib", "pathlib"))
    options = (*WITH_CACHE, f"--staging-url={demo_url}", "--staging-report=gate.json")
    assert pytester.runpytest(*options).ret == 1
    (pytester.path / "fixed").touch()

    again = pytester.runpytest(*options, "--ff")
    report = read_report(pytester.path / "gate.json")

    assert again.ret == 0
    assert report["selection"] == {
        "deselected": 0,
        "options": [],
        "rerun": None,
        "allow_partial": True,
    }


def save(path: Path, document: dict[str, Any]) -> str:
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


def test_compare_counts_tests_that_no_longer_ran_as_worse(
    pytester: pytest.Pytester, demo_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    pytester.makepyfile(test_service=SEVEN_TESTS)
    gate_run(pytester, demo_url, "--staging-report=whole.json")
    gate_run(pytester, demo_url, "-k", "health", "--staging-report=partial.json")
    capsys.readouterr()

    exit_code = main(["compare", "whole.json", "partial.json"])
    lines = capsys.readouterr().out.splitlines()

    assert exit_code == 1
    assert "tests: 0 newly failing, 0 fixed, 0 new, 5 gone" in lines
    assert lines[lines.index("WORSE (1):") + 1 :] == [
        "  - 5 test(s) that ran before did not run now: test_service.py::test_items[0], "
        "test_service.py::test_items[1], test_service.py::test_items[2], "
        "test_service.py::test_items[3], test_service.py::test_items[4]"
    ]


def test_compare_refuses_reports_of_different_targets(
    pytester: pytest.Pytester,
    demo_url: str,
    demo_servers: Callable[..., str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    other_url = demo_servers("healthy", version="2.0.0")
    pytester.makepyfile(test_service=SEVEN_TESTS)
    gate_run(pytester, demo_url, "--staging-report=old.json")
    gate_run(pytester, other_url, "--staging-report=new.json")
    document = json.loads((pytester.path / "old.json").read_text(encoding="utf-8"))
    orders = save(
        pytester.path / "orders.json",
        {**document, "target": {**document["target"], "service": "orders"}},
    )
    billing = save(
        pytester.path / "billing.json",
        {**document, "target": {**document["target"], "service": "billing"}},
    )
    capsys.readouterr()

    refused = main(["compare", "old.json", "new.json"])
    error = capsys.readouterr().err
    other_service = main(["compare", orders, billing])
    service_error = capsys.readouterr().err
    allowed = main(["compare", "old.json", "new.json", "--allow-different-targets"])
    allowed_out = capsys.readouterr().out.splitlines()

    assert refused == other_service == 4
    assert error.splitlines() == [
        f"pytest-staging compare: error: old.json and new.json are reports of different "
        f"targets ({demo_url} vs {other_url}): compare two runs of one target, or pass "
        "--allow-different-targets"
    ]
    assert f"({demo_url} (service orders) vs {demo_url} (service billing))" in service_error
    assert allowed != 4  # compared: better or worse depends on the timings
    assert allowed_out[:2] == ["old.json -> new.json", "verdict: GO -> GO"]
