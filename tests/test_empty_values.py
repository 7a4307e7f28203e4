"""A value given but empty is a usage error naming the option, never a check quietly dropped.

`--staging-expect-version="$VERSION"` with the CI variable unset used to turn the version
check off and GO; an empty `--staging-url` turned the whole gate off (exit 0). An environment
variable set to nothing counts as given (how an unset CI variable usually arrives), except
for a flag, where empty still means "not set".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

PASSING_TEST = "import pytest\n\n@pytest.mark.smoke\ndef test_ok():\n    pass\n"
EMPTY = "the option was given but empty: give a value, or leave it out"


@pytest.mark.parametrize(
    "option",
    [
        "--staging-expect-version",
        "--staging-baseline",
        "--staging-report",
        "--staging-summary-md",
        "--staging-token",
        "--staging-header",
        "--staging-gate",
        "--staging-allow-partial",
    ],
)
@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_option_is_a_usage_error_naming_it(
    pytester: pytest.Pytester, demo_url: str, option: str, value: str
) -> None:
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", f"{option}={value}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {option}: {EMPTY}*"])
    assert "STAGING GATE" not in result.stdout.str()


def test_an_empty_url_does_not_turn_the_gate_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-url=", "--staging-report=gate.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --staging-url: {EMPTY}*"])


@pytest.mark.parametrize(
    ("variable", "option"),
    [
        ("PYTEST_STAGING_EXPECT_VERSION", "--staging-expect-version"),
        ("PYTEST_STAGING_URL", "--staging-url"),
        ("PYTEST_STAGING_BASELINE", "--staging-baseline"),
    ],
)
def test_an_environment_variable_set_to_nothing_is_a_usage_error(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    demo_url: str,
    variable: str,
    option: str,
) -> None:
    monkeypatch.setenv(variable, "")
    pytester.makepyfile(PASSING_TEST)
    url = () if variable == "PYTEST_STAGING_URL" else (f"--staging-url={demo_url}",)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, *url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {variable} (for {option}): {EMPTY}*"])


def test_an_empty_version_writes_a_no_go_report_naming_the_option(
    pytester: pytest.Pytester, demo_url: str, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        f"--staging-url={demo_url}",
        "--staging-report=gate.json",
        "--staging-expect-version=",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    report = read_report(pytester.path / "gate.json")
    assert (report["verdict"], report["exit_code"]) == ("NO-GO", 4)
    assert report["reasons"][0].startswith(f"usage error: --staging-expect-version: {EMPTY}")


def test_an_empty_flag_variable_still_means_not_set(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    monkeypatch.setenv("PYTEST_STAGING_INSECURE", "")
    monkeypatch.setenv("PYTEST_STAGING_FAIL_FAST", "")
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}")
    assert result.ret == pytest.ExitCode.OK
    assert "NOT verified" not in result.stdout.str()
