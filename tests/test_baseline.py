"""Latency regressions against an earlier gate report (`--staging-baseline`): reading the file,
the comparison rules by hand, and real runs against a healthy and a slow demo on loopback."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.report import baseline, json_report
from pytest_staging.report.baseline import FLOOR_MS, MIN_SAMPLES, Baseline
from pytest_staging.report.finished_run import finished_early
from pytest_staging.settings import parsing

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

Report = dict[str, Any]


def stats(p95_ms: float, count: int = 20) -> dict[str, Any]:
    return {
        "count": count,
        "errors": 0,
        "p50_ms": p95_ms / 2,
        "p95_ms": p95_ms,
        "p99_ms": p95_ms,
        "max_ms": p95_ms,
    }


def valid_report(latency: Mapping[str, Mapping[str, Any]]) -> Report:
    """A report as --staging-report writes it, with the given latency section."""
    run = finished_early("built by hand", exit_code=1, target_url="http://127.0.0.1:9")
    return json_report.build(dataclasses.replace(run, latency=latency))


# -- reading the file ---------------------------------------------------------------------


def test_a_valid_report_becomes_a_baseline_by_request_name(tmp_path: Path) -> None:
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(valid_report({"GET /api/items": stats(12.5)})), encoding="utf-8")

    loaded = baseline.load(str(path))

    assert loaded.path == str(path)
    assert set(loaded.latency) == {"GET /api/items"}
    assert loaded.latency["GET /api/items"]["p95_ms"] == 12.5


def test_a_missing_file_cannot_be_read(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")
    with pytest.raises(argparse.ArgumentTypeError) as info:
        baseline.load(missing)
    assert str(info.value) == f"{missing!r} cannot be read: No such file or directory"


def test_a_file_that_is_not_json_is_named(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text("<testsuites/>", encoding="utf-8")
    with pytest.raises(argparse.ArgumentTypeError) as info:
        baseline.load(str(path))
    assert str(info.value) == (
        f"{str(path)!r} is not JSON: Expecting value: line 1 column 1 (char 0)"
    )


@pytest.mark.parametrize(
    "document",
    [[], {"verdict": "GO"}, {"schema": "pytest-staging/report/v0"}],
    ids=["array", "no-schema", "other-schema"],
)
def test_json_that_is_not_a_gate_report_is_refused(tmp_path: Path, document: object) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(argparse.ArgumentTypeError) as info:
        baseline.load(str(path))
    assert str(info.value) == (
        f"{str(path)!r} is not a pytest-staging JSON report (schema pytest-staging/report/v1); "
        "pass a file written by --staging-report"
    )


def test_a_report_that_breaks_the_schema_names_where(tmp_path: Path) -> None:
    document = valid_report({"GET /api/items": stats(12.5)})
    document["latency"]["GET /api/items"]["p95_ms"] = "fast"
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(argparse.ArgumentTypeError) as info:
        baseline.load(str(path))
    assert str(info.value) == (
        f"{str(path)!r} is not a valid report: latency/GET /api/items/p95_ms: "
        "'fast' is not of type 'number'"
    )


@pytest.mark.parametrize(
    ("text", "percent"), [("20", 20.0), ("20%", 20.0), (" 7.5 ", 7.5), ("0", 0.0), ("1000", 1000.0)]
)
def test_tolerance_reads_percentages(text: str, percent: float) -> None:
    assert parsing.tolerance(text) == percent


@pytest.mark.parametrize("text", ["-1", "1000.5", "ten", "", "nan", "inf"])
def test_tolerance_outside_0_to_1000_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as info:
        parsing.tolerance(text)
    assert str(info.value) == f"expected a percentage from 0 to 1000, e.g. 20, got {text!r}"


# -- the comparison -----------------------------------------------------------------------


def compare(
    old_p95: float, new_p95: float, tolerance: float = 20.0, **counts: int
) -> tuple[str, ...]:
    earlier = Baseline("base.json", {"GET /a": stats(old_p95, counts.get("before", 20))})
    return earlier.regressions({"GET /a": stats(new_p95, counts.get("after", 20))}, tolerance)


def test_slower_beyond_the_tolerance_and_the_floor_is_named_with_its_numbers() -> None:
    assert compare(100.0, 130.0) == (
        "GET /a: p95 130.0 ms is 30% slower than the baseline 100.0 ms (base.json; tolerance 20%)",
    )


@pytest.mark.parametrize(
    ("before", "after", "tolerance"),
    [
        (100.0, 119.0, 20.0),  # within the tolerance
        (100.0, 80.0, 20.0),  # faster
        (100.0, 130.0, 50.0),  # a wider tolerance
        (2.0, 2.0 + FLOOR_MS, 20.0),  # +250 % but within the absolute floor
    ],
)
def test_within_the_tolerance_or_the_floor_is_no_regression(
    before: float, after: float, tolerance: float
) -> None:
    assert compare(before, after, tolerance) == ()


def test_just_past_the_floor_is_a_regression() -> None:
    assert compare(2.0, 2.0 + FLOOR_MS + 0.5) == (
        "GET /a: p95 7.5 ms is 275% slower than the baseline 2.0 ms (base.json; tolerance 20%)",
    )


def test_zero_tolerance_flags_any_slowdown_past_the_floor() -> None:
    assert len(compare(100.0, 106.0, tolerance=0)) == 1


@pytest.mark.parametrize("counts", [{"before": MIN_SAMPLES - 1}, {"after": MIN_SAMPLES - 1}])
def test_too_few_samples_on_either_side_are_not_compared(counts: dict[str, int]) -> None:
    assert compare(10.0, 500.0, **counts) == ()
    assert len(compare(10.0, 500.0, before=MIN_SAMPLES, after=MIN_SAMPLES)) == 1


def test_only_names_in_both_runs_are_compared_in_name_order() -> None:
    earlier = Baseline(
        "base.json",
        {"GET /b": stats(10.0), "GET /a": stats(10.0), "GET /gone": stats(1.0)},
    )
    current = {"GET /b": stats(50.0), "GET /a": stats(40.0), "GET /new": stats(900.0)}

    found = earlier.regressions(current, 20.0)

    assert [line.split(":")[0] for line in found] == ["GET /a", "GET /b"]


# -- through the plugin ---------------------------------------------------------------------

SAMPLED_TEST = """
import pytest


@pytest.mark.smoke
def test_items_answer(staging_client):
    for _ in range(10):
        assert staging_client.get("/api/items").status_code == 200
"""


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cannot be read: No such file or directory"), ("not json", "is not JSON: *")],
    ids=["missing", "not-json"],
)
def test_a_bad_baseline_exits_4_and_still_writes_a_no_go_report(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    demo_url: str,
    content: str | None,
    problem: str,
) -> None:
    pytester.makepyfile(test_sampled=SAMPLED_TEST)
    if content is not None:
        pytester.path.joinpath("baseline.json").write_text(content, encoding="utf-8")
    report_path = pytester.path / "gate.json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        f"--staging-url={demo_url}",
        f"--staging-report={report_path}",
        "--staging-baseline=baseline.json",
    )
    report = read_report(report_path)

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --staging-baseline: 'baseline.json' {problem}"])
    assert report["verdict"] == "NO-GO"
    assert report["exit_code"] == 4
    (reason,) = report["reasons"]
    assert reason.startswith("usage error: --staging-baseline: 'baseline.json' ")


def test_a_bad_tolerance_exits_4_naming_the_option(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(test_sampled=SAMPLED_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "--staging-baseline-tolerance=2000"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --staging-baseline-tolerance: expected a percentage from 0 to 1000, e.g. 20, "
            "got '2000'"
        ]
    )


def test_a_slower_deploy_than_the_baseline_is_no_go_in_performance(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    demo_servers: Callable[..., str],
) -> None:
    """Healthy run → baseline; the same test against a slow deploy → NO-GO naming the request;
    the slow run as its own baseline → GO."""
    pytester.makepyfile(test_sampled=SAMPLED_TEST)

    def run(url: str, name: str, *options: str) -> tuple[pytest.RunResult, Report]:
        path = pytester.path / name
        result = pytester.runpytest(
            *INNER_RUN_OPTIONS, f"--staging-url={url}", f"--staging-report={path}", *options
        )
        return result, read_report(path)

    healthy, before = run(demo_servers(), "before.json")
    slow_url = demo_servers("slow", slow_delay_ms=100)
    slower, after = run(
        slow_url, "after.json", f"--staging-baseline={pytester.path / 'before.json'}"
    )
    again, same = run(
        slow_url,
        "same.json",
        f"--staging-baseline={pytester.path / 'after.json'}",
        "--staging-baseline-tolerance=1000",
    )

    assert healthy.ret == 0, healthy.stdout.str()
    assert before["latency"]["GET /api/items"]["count"] == 10

    assert slower.ret == 1
    assert after["verdict"] == "NO-GO"
    slower.assert_outcomes(passed=1)  # every test passed: the regression alone fails the gate
    (reason,) = after["reasons"]
    old, new = before["latency"]["GET /api/items"], after["latency"]["GET /api/items"]
    assert reason == (
        f"performance: GET /api/items: p95 {new['p95_ms']:.1f} ms is "
        f"{100 * (new['p95_ms'] - old['p95_ms']) / old['p95_ms']:.0f}% slower than the baseline "
        f"{old['p95_ms']:.1f} ms ({pytester.path / 'before.json'}; tolerance 20%)"
    )
    assert after["categories"]["performance"]["ok"] is False
    assert after["categories"]["smoke"]["ok"] is True
    slower.stdout.fnmatch_lines(["STAGING GATE: NO-GO", "  - performance: GET /api/items: p95 *"])

    assert again.ret == 0, again.stdout.str()
    assert same["verdict"] == "GO"
    assert same["reasons"] == []
    assert baseline.load(str(pytester.path / "after.json")).regressions(after["latency"], 0) == ()
