"""The bundled smoke suite against the demo service in each fault mode, started by --staging-demo."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

SUITES = Path(__file__).resolve().parents[1] / "suites"
INNER_RUN_OPTIONS = ("-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning")


def run_suite(pytester: pytest.Pytester, mode: str) -> tuple[pytest.RunResult, Path]:
    report = pytester.path / "gate.json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        str(SUITES / "smoke"),
        f"--staging-demo={mode}",
        f"--staging-report={report}",
    )
    return result, report


def test_healthy_demo_is_go(
    pytester: pytest.Pytester, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    result, path = run_suite(pytester, "healthy")
    report = read_report(path)
    assert result.ret == 0
    assert report["verdict"] == "GO"
    assert report["categories"]["smoke"]["passed"] == report["totals"]["passed"] >= 8
    assert report["categories"]["smoke"]["failed"] == 0
    assert report["audit"]["deployed_version"] == "1.0.0"


@pytest.mark.parametrize(
    ("mode", "failing_tests", "critical"),
    [
        ("degraded", {"test_health_reports_every_component_healthy"}, True),
        (
            "broken-envelope",
            {
                "test_key_endpoint_keeps_the_envelope[GET /api/items]",
                "test_key_endpoint_keeps_the_envelope[GET /api/items/1]",
                "test_key_endpoint_keeps_the_envelope[GET /api/cache/stats]",
                "test_unknown_item_is_404_in_an_envelope",
                "test_bad_credentials_are_rejected_with_401",
            },
            False,
        ),
    ],
)
def test_faulty_demo_is_no_go_in_smoke(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], dict[str, Any]],
    mode: str,
    failing_tests: set[str],
    critical: bool,
) -> None:
    result, path = run_suite(pytester, mode)
    report = read_report(path)
    assert result.ret == 1
    assert report["verdict"] == "NO-GO"
    failed = {t["nodeid"].rpartition("::")[2] for t in report["tests"] if t["outcome"] == "failed"}
    assert failed == failing_tests
    assert report["categories"]["smoke"]["ok"] is False
    assert any(reason.startswith("smoke: pass rate") for reason in report["reasons"])
    assert bool(report["critical_failures"]) is critical
