"""The Markdown summary: `--staging-summary-md` and GitHub's `GITHUB_STEP_SUMMARY`, from real runs."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS, ONE_FAILURE_IN_THREE

from pytest_staging.redaction import redactor
from pytest_staging.report.finished_run import finished_early
from pytest_staging.report.markdown import summary, text

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

TABLE_ROW = re.compile(
    r"^\| \**(\w+)\** \| (\d+) \| (\d+) \| (\d+) \| (\d+) \| ([^|]+) \| ([^|]+) \| (.+) \|$"
)


def table(markdown: str) -> dict[str, tuple[int, int, int, int, str]]:
    """category -> (passed, failed, errors, skipped, result) from the gate table."""
    rows = {}
    for line in markdown.splitlines():
        match = TABLE_ROW.match(line)
        if match:
            name, *counts = match.group(1, 2, 3, 4, 5)
            rows[name] = (*(int(count) for count in counts), match.group(8).strip("*"))
    return rows


def run_with_summaries(
    pytester: pytest.Pytester, url: str, *args: str, subprocess: bool = False
) -> tuple[pytest.RunResult, str, str]:
    github = pytester.path / "github-summary.md"
    github.write_text("## an earlier step\n", encoding="utf-8")
    options = (
        *INNER_RUN_OPTIONS,
        f"--staging-url={url}",
        "--staging-summary-md=out/summary.md",
        "--staging-report=gate.json",
        *args,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GITHUB_STEP_SUMMARY", str(github))
        run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
        result = run(*options)
    own = (pytester.path / "out" / "summary.md").read_text(encoding="utf-8")
    return result, own, github.read_text(encoding="utf-8")


def test_a_go_run_writes_the_verdict_and_the_table_to_both_files(
    pytester: pytest.Pytester, demo_url: str, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE.replace("n != 2", "n != 5"))
    result, own, github = run_with_summaries(pytester, demo_url)
    report = read_report(pytester.path / "gate.json")

    assert result.ret == 0
    assert own.startswith("## ✅ Staging gate: GO\n")
    assert f"Target: {text(demo_url)} (environment staging), exit code 0" in own
    assert table(own)["smoke"] == (1, 0, 0, 0, "OK")
    assert table(own)["integration"] == (3, 0, 0, 0, "OK")
    for name, row in table(own).items():
        if name in report["categories"]:
            assert row[:2] == (
                report["categories"][name]["passed"],
                report["categories"][name]["failed"],
            )
    assert "**Slowest requests by p95**" in own
    assert "| GET /health |" in own
    assert github == "## an earlier step\n" + own


def test_a_no_go_run_leads_with_the_verdict_and_its_reasons(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE)
    result, own, _ = run_with_summaries(pytester, demo_url)

    assert result.ret == 1
    lines = own.splitlines()
    assert lines[0] == "## ❌ Staging gate: NO-GO"
    assert lines[4] == "**Reasons**"
    assert lines[6].startswith("- FAILED ")
    assert lines[6].endswith("::test\\_sums\\[2\\]: AssertionError: two is not allowed")
    assert lines[7] == "- integration: pass rate 66.7% (2 of 3) is below the threshold 95%"
    assert table(own)["integration"] == (2, 1, 0, 0, "FAIL")
    assert table(own)["total"] == (3, 1, 0, 0, "NO-GO")
    assert "| **total** |" in own
    assert own.rstrip().endswith("|")


def test_under_xdist_the_controller_writes_one_summary(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE)
    result, own, github = run_with_summaries(pytester, demo_url, "-n", "2", subprocess=True)

    assert result.ret == 1
    assert github.count("Staging gate:") == 1
    assert table(own)["integration"] == (2, 1, 0, 0, "FAIL")


def test_a_usage_error_still_writes_a_no_go_summary(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        "--staging-url=http://127.0.0.1:9",
        "--staging-timeout=soon",
        "--staging-summary-md=summary.md",
    )
    own = (pytester.path / "summary.md").read_text(encoding="utf-8")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert own.startswith("## ❌ Staging gate: NO-GO\n")
    assert "- usage error: --staging-timeout: expected a number of seconds" in own


def test_an_unwritable_summary_path_is_refused_at_start(pytester: pytest.Pytester) -> None:
    (pytester.path / "blocker").write_text("a file, not a folder", encoding="utf-8")
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        "--staging-url=http://127.0.0.1:9",
        "--staging-summary-md=blocker/summary.md",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--staging-summary-md: 'blocker/summary.md' cannot be written*"])


def test_an_unwritable_github_summary_is_named_and_the_verdict_stands(
    pytester: pytest.Pytester, demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE.replace("n != 2", "n != 5"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(pytester.mkdir("a-folder")))
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}")

    assert result.ret == 0
    result.stdout.fnmatch_lines(["staging: could not write GITHUB_STEP_SUMMARY *a-folder: *"])
    assert "Traceback" not in result.stdout.str()


def test_markdown_in_free_text_is_shown_literally() -> None:
    escaped = text("test_a[x|y] *bold* <script>alert(1)</script> `code` line\nbreak")
    assert "|" not in escaped.replace("\\|", "")
    assert "<" not in escaped.replace("\\<", "")
    assert "`" not in escaped.replace("\\`", "")
    assert "\n" not in escaped
    assert escaped.startswith(r"test\_a\[x\|y\] \*bold\*")


def test_control_characters_from_the_target_are_shown_not_obeyed() -> None:
    escaped = text("GET /x: \x1b[2J\rSTAGING GATE: GO\u202e")

    assert not any(character in escaped for character in "\x1b\r\n\u202e")
    assert escaped == r"GET /x: \\x1b\[2J\\rSTAGING GATE: GO\\u202e"


def test_secrets_in_reasons_are_masked() -> None:
    redactor.register(["planted-token-4711"])
    try:
        rendered = summary(
            finished_early("login with planted-token-4711 refused", exit_code=1, target_url=None)
        )
    finally:
        redactor.clear()
    assert "planted-token-4711" not in rendered
    assert "- login with \\*\\*\\* refused" in rendered


SKIPPED_HTTPS = """
import pytest

@pytest.mark.smoke
def test_health(staging_client):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.security
@pytest.mark.parametrize("header", ["hsts", "redirect"])
def test_https(header):
    pytest.skip("the target is plain HTTP and [security] https = \\"optional\\"")
"""
"""A plain-HTTP target: the security suite skips its HTTPS checks with one reason."""
HTTPS_NOTE = 'security: 2 skipped: the target is plain HTTP and [security] https = "optional"'


def test_the_notes_and_the_error_rate_are_in_the_summary(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(SKIPPED_HTTPS)
    result, own, _ = run_with_summaries(pytester, demo_url, "--staging-max-error-rate=0.5")

    assert result.ret == 0
    assert f"**Notes**\n\n- {text(HTTPS_NOTE)}\n" in own
    assert "\nerror rate 0% (0 of 1 requests failed), max\\_error\\_rate 0.5%: OK\n" in own
    result.stdout.fnmatch_lines(
        [
            "error rate 0% (0 of 1 requests failed), max_error_rate 0.5%: OK",
            f"note: {HTTPS_NOTE}",
            "STAGING GATE: GO",
        ]
    )
