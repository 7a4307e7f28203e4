"""Saved reports read back without trusting the file: `pytest-staging gate` / `compare` and
`--staging-baseline` refuse a FIFO, a device, a huge or deeply nested file, and a report whose
exit code contradicts its verdict, each in one line (exit 1 for the command, 4 for the option)
instead of hanging, exhausting memory or a traceback.

The commands run as users run them, in a child process with a generous deadline: before the
bounded reader, a FIFO made them hang until the deadline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.files import MAX_REPORT_BYTES

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

SMOKE_TEST = "import pytest\n\n@pytest.mark.smoke\ndef test_ok(staging_client):\n    pass\n"
DEADLINE_S = 60
"""A safety net only: the commands answer at once."""
NESTED = "[" * 3000 + "]" * 3000


@pytest.fixture
def go_report(
    pytester: pytest.Pytester, demo_url: str, read_report: Callable[[Path], dict[str, Any]]
) -> dict[str, Any]:
    """A real GO report of the demo, from a gated run."""
    pytester.makepyfile(test_one=SMOKE_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "--staging-report=go.json"
    )
    assert result.ret == 0
    return read_report(pytester.path / "go.json")


def command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_staging.cli", *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=False,
    )


def make_bad_file(folder: Path, kind: str) -> tuple[Path, str]:
    """A file no report can come from, and what the refusal says about it."""
    path = folder / f"{kind}.json"
    if kind == "fifo":
        os.mkfifo(path)
        return path, "cannot be read: it is a FIFO, not a regular file: name a file"
    if kind == "huge":
        with path.open("wb") as stream:
            stream.truncate(MAX_REPORT_BYTES + 1)  # sparse: no disk is used
        return path, f"cannot be read: it is larger than {MAX_REPORT_BYTES // 1024} KiB*"
    path.write_text(NESTED)
    return path, "is not a report: its JSON is nested too deeply"


@pytest.mark.parametrize("kind", ["fifo", "huge", "nested"])
def test_gate_and_compare_refuse_a_file_no_report_comes_from(
    tmp_path: Path, demo_url: str, kind: str
) -> None:
    path, problem = make_bad_file(tmp_path, kind)
    for args in (("gate", str(path)), ("compare", str(path), str(path))):
        done = command(*args)
        assert done.returncode == 1
        pytest.LineMatcher(done.stderr.splitlines()).fnmatch_lines(
            [f"pytest-staging {args[0]}: error: {str(path)!r} {problem}"]
        )
        assert len(done.stderr.splitlines()) == 1
        assert done.stdout == ""


def test_gate_refuses_a_character_device_without_reading_it() -> None:
    """/dev/zero is only opened (and refused by its kind), never read."""
    done = command("gate", "/dev/zero")
    assert done.returncode == 1
    assert done.stderr == (
        "pytest-staging gate: error: '/dev/zero' cannot be read: it is a character device, "
        "not a regular file: name a file\n"
    )


@pytest.mark.parametrize("kind", ["fifo", "huge", "nested"])
def test_a_baseline_no_report_comes_from_exits_4_with_one_line(
    pytester: pytest.Pytester, demo_url: str, kind: str
) -> None:
    path, problem = make_bad_file(pytester.path, kind)
    pytester.makepyfile(test_one=SMOKE_TEST)
    result = pytester.runpytest_subprocess(
        *INNER_RUN_OPTIONS,
        f"--staging-url={demo_url}",
        f"--staging-baseline={path}",
        "--staging-report=gate.json",
        timeout=DEADLINE_S,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --staging-baseline: {str(path)!r} {problem}"])
    assert "INTERNALERROR" not in result.stderr.str()
    report = json.loads((pytester.path / "gate.json").read_text())
    assert report["reasons"][0].startswith("usage error: --staging-baseline:")


@pytest.mark.parametrize(("verdict", "exit_code"), [("GO", 1), ("NO-GO", 0)])
def test_a_report_whose_exit_code_contradicts_its_verdict_is_refused(
    pytester: pytest.Pytester,
    demo_url: str,
    go_report: dict[str, Any],
    verdict: str,
    exit_code: int,
) -> None:
    edited = pytester.path / "edited.json"
    edited.write_text(json.dumps({**go_report, "verdict": verdict, "exit_code": exit_code}))
    problem = (
        f"{str(edited)!r} contradicts itself: verdict {verdict} with exit code {exit_code} "
        "(a GO is exit code 0, a NO-GO never is); it was not written whole by one run: "
        "run the gate again"
    )
    for args in (("gate", str(edited)), ("compare", str(edited), str(edited))):
        done = command(*args)
        assert (done.returncode, done.stderr) == (
            1,
            f"pytest-staging {args[0]}: error: {problem}\n",
        )
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", f"--staging-baseline={edited}"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --staging-baseline: {problem}"])


def test_a_consistent_report_is_still_read(go_report: dict[str, Any], tmp_path: Path) -> None:
    saved = tmp_path / "go.json"
    saved.write_text(json.dumps(go_report))
    done = command("gate", str(saved))
    assert done.returncode == 0
    assert "STAGING GATE: GO" in done.stdout.splitlines()


def test_a_home_folder_that_does_not_exist_is_one_line() -> None:
    done = command("gate", "~no-such-user-here/gate.json")
    assert (done.returncode, done.stderr) == (
        1,
        "pytest-staging gate: error: '~no-such-user-here/gate.json' cannot be read: "
        "cannot expand '~' in this path\n",
    )
