"""The gate block at the end of the terminal output: 80 columns, colour only on a terminal,
parseable rows, and `-q` down to the banner and its reasons. From real runs, and from
`table_lines()` over verdicts built directly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS, ONE_FAILURE_IN_THREE

from pytest_staging import gate, timing
from pytest_staging.gate import BUILTIN_CATEGORIES, DEFAULT_THRESHOLDS, RunSnapshot, TestRecord
from pytest_staging.report import terminal
from pytest_staging.report.finished_run import FinishedRun

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from pathlib import Path

GO_RUN = ONE_FAILURE_IN_THREE.replace("n != 2", "n != 5")
NO_GO_REASON = "  - integration: pass rate 66.7% (2 of 3) is below the threshold 95%"
FAILED_CAUSE = "::test_sums[2]: AssertionError: two is not allowed"
"""The end of the reason naming the failed test (its module is named after the test)."""


def ends_with_the_no_go(block: Sequence[str]) -> bool:
    """The verdict, the failed test with its cause, then the rate: what broke comes first."""
    verdict, failed, rate = block[-3:]
    return (
        verdict == "STAGING GATE: NO-GO"
        and failed.startswith("  - FAILED ")
        and failed.endswith(FAILED_CAUSE)
        and rate == NO_GO_REASON
    )


LONG_CATEGORY = "payments_reconciliation_ledger"
"""Longer than the widest category column (terminal.NAME_WIDTH_MAX)."""
LONG_CATEGORY_CUT = "payments_reconcilia..."
"""How the table shows it: cut to the widest column that keeps a row in 80 columns."""

MANY_IN_THE_LONG_CATEGORY = f"""

@pytest.mark.{LONG_CATEGORY}
@pytest.mark.parametrize("i", range(1200))
def test_ledger(i):
    pass
"""

ESCAPE = "\x1b["
COLOUR_VARIABLES = ("PY_COLORS", "NO_COLOR", "FORCE_COLOR")
"""pytest's own overrides (pytester sets PY_COLORS=0): off, so the writer looks at the file."""
SGR_COLOUR = {"GO": 32, "NO-GO": 31}
"""The select-graphic-rendition codes pytest's TerminalWriter writes for green and red."""


def gate_block(lines: Sequence[str]) -> list[str]:
    """The plugin's lines: from the `staging gate:` separator to the end of the output."""
    starts = [i for i, line in enumerate(lines) if "staging gate: " in line and "===" in line]
    assert len(starts) == 1, lines
    return list(lines[starts[0] :])


def parse_table(lines: Sequence[str]) -> dict[str, tuple[int, int, int, int, str, str, str]]:
    """category -> (passed, failed, errors, skipped, rate, threshold, result) per table row."""
    header = next(i for i, line in enumerate(lines) if line.split() == terminal.HEADER.split())
    rows = {}
    for line in lines[header + 1 :]:
        fields = line.split(None, 7)
        if len(fields) != 8 or not all(field.isdigit() for field in fields[1:5]):
            break
        name, passed, failed, errors, skipped, rate, threshold, result = fields
        rows[name] = (int(passed), int(failed), int(errors), int(skipped), rate, threshold, result)
    return rows


def outcome_of(tests: Sequence[TestRecord], *, categories: tuple[str, ...] = ()) -> FinishedRun:
    snapshot = RunSnapshot(
        tests=tuple(tests),
        thresholds=DEFAULT_THRESHOLDS,
        categories=BUILTIN_CATEGORIES + categories,
    )
    verdict = gate.decide(snapshot)
    return FinishedRun(
        verdict=verdict,
        snapshot=snapshot,
        exit_code=gate.exit_code(verdict, snapshot, 0),
        target_url="http://127.0.0.1:9",
        environment="staging",
        started_at=timing.utc_now(),
        duration_s=0.0,
    )


def records(n: int, category: str, outcome: gate.TestOutcome = "passed") -> list[TestRecord]:
    return [
        TestRecord(f"test_{category}.py::test_{outcome}[{i}]", outcome, (category,))
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("failing", "expected"),
    [
        pytest.param(
            0,
            {
                "smoke": (1200, 0, 0, 0, "100%", "100%", "OK"),
                "integration": (40, 0, 0, 3, "100%", "95%", "OK"),
                "performance": (0, 0, 0, 0, "-", "90%", "not run"),
                LONG_CATEGORY_CUT: (7, 1, 0, 0, "87.5%", "-", "not gated"),
                "total": (1247, 1, 0, 3, "99.9%", "-", "GO"),
            },
            id="GO",
        ),
        pytest.param(
            3,
            {
                "smoke": (1197, 2, 1, 0, "99.8%", "100%", "FAIL"),
                "integration": (40, 0, 0, 3, "100%", "95%", "OK"),
                "performance": (0, 0, 0, 0, "-", "90%", "not run"),
                LONG_CATEGORY_CUT: (7, 1, 0, 0, "87.5%", "-", "not gated"),
                "total": (1244, 3, 1, 3, "99.7%", "-", "NO-GO"),
            },
            id="NO-GO",
        ),
    ],
)
def test_table_rows_fit_80_columns_and_split_back_into_their_fields(
    failing: int, expected: dict[str, tuple[int, int, int, int, str, str, str]]
) -> None:
    tests = [
        *records(1200 - failing, "smoke"),
        *records(failing - failing // 3, "smoke", "failed"),
        *records(failing // 3, "smoke", "error"),
        *records(40, "integration"),
        *records(2, "integration", "skipped"),
        *records(1, "integration", "xfailed"),
        *records(7, LONG_CATEGORY),
        *records(1, LONG_CATEGORY, "failed"),
    ]
    lines = terminal.table_lines(outcome_of(tests, categories=(LONG_CATEGORY,)))
    rows = parse_table(lines)
    table = lines[: len(rows) + 1]

    assert {name: rows[name] for name in expected} == expected
    assert list(rows) == [*BUILTIN_CATEGORIES, LONG_CATEGORY_CUT, "total"]
    assert max(len(line) for line in table) == terminal.WIDTH
    assert table[0].split() == terminal.HEADER.split()
    if failing:
        assert lines == table  # no failure is tolerated in a NO-GO
    else:  # node ids are shown whole, however long
        assert lines[len(table) :] == [
            "failures within tolerance (1):",
            f"  - test_{LONG_CATEGORY}.py::test_failed[0]",
        ]


def test_the_category_column_grows_for_a_name_that_fits_and_keeps_the_usual_layout() -> None:
    usual = terminal.table_lines(outcome_of(records(1, "smoke")))
    wider = terminal.table_lines(outcome_of(records(1, "smoke"), categories=("contract_tests_v2",)))

    assert usual[0] == terminal.HEADER
    assert usual[1] == "smoke                 1      0      0       0    100%      100%  OK"
    assert wider[0] == f"{'category':<17} " + terminal.HEADER[17:]
    assert parse_table(wider)["contract_tests_v2"] == (0, 0, 0, 0, "-", "-", "not run")
    assert terminal.cut("abcdef", 6) == "abcdef"
    assert terminal.cut("abcdefg", 6) == "abc..."


@pytest.mark.parametrize("source", [GO_RUN, ONE_FAILURE_IN_THREE], ids=["GO", "NO-GO"])
def test_every_line_of_the_gate_block_fits_80_columns(
    pytester: pytest.Pytester, demo_url: str, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # pytest's width wherever the output is no terminal
    pytester.makeini(f"[pytest]\nstaging_categories = {LONG_CATEGORY}\n")
    pytester.makepyfile(source + MANY_IN_THE_LONG_CATEGORY)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}")
    block = gate_block(result.outlines)

    assert result.ret == (0 if source == GO_RUN else 1)
    reasons = [line for line in block if line.startswith("  - ")]  # free text, kept whole
    assert [line for line in block if len(line) > 80 and line not in reasons] == []
    assert block[0].startswith("=")
    assert block[0].endswith("=")
    rows = parse_table(block)
    assert rows[LONG_CATEGORY_CUT] == (1200, 0, 0, 0, "100%", "-", "not gated")
    assert rows["total"][:2] == ((1204, 0) if source == GO_RUN else (1203, 1))
    assert block[-1] == "STAGING GATE: GO" if source == GO_RUN else ends_with_the_no_go(block)


def without_colour_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in COLOUR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")


@pytest.mark.parametrize("process", ["in-process", "subprocess"])
def test_output_that_is_no_terminal_carries_no_colour(
    pytester: pytest.Pytester, demo_url: str, monkeypatch: pytest.MonkeyPatch, process: str
) -> None:
    without_colour_overrides(monkeypatch)
    pytester.makepyfile(ONE_FAILURE_IN_THREE)
    run = pytester.runpytest if process == "in-process" else pytester.runpytest_subprocess
    result = run(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}")

    assert result.ret == 1
    assert "STAGING GATE: NO-GO" in result.outlines
    assert ESCAPE not in result.stdout.str() + result.stderr.str()


@pytest.mark.parametrize("label", ["GO", "NO-GO"])
@pytest.mark.parametrize("no_color", [False, True], ids=["", "NO_COLOR"])
def test_color_yes_paints_the_verdict_green_or_red(
    pytester: pytest.Pytester,
    demo_url: str,
    monkeypatch: pytest.MonkeyPatch,
    label: str,
    no_color: bool,
) -> None:
    """`--color=yes` wins over NO_COLOR (and PY_COLORS=0), as it does for all of pytest."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    colour = SGR_COLOUR[label]
    pytester.makepyfile(GO_RUN if label == "GO" else ONE_FAILURE_IN_THREE)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "--color=yes")
    block = gate_block(result.outlines)

    assert block[0].startswith(f"\x1b[{colour}m=")
    assert block[0].endswith("=\x1b[0m")
    assert f"\x1b[1m\x1b[{colour}mSTAGING GATE: {label}\x1b[0m" in block
    if label == "NO-GO":
        assert block[-1] == f"\x1b[{colour}m{NO_GO_REASON}\x1b[0m"
    table = [line for line in block if line.startswith(("category ", "smoke ", "total "))]
    assert len(table) == 3
    assert ESCAPE not in "".join(table)  # the rows stay plain


def run_on_a_terminal(command: list[str], *, cwd: Path, exit_code: int) -> str:
    """The output of a process whose stdout and stderr are a pseudo-terminal."""
    import pty
    import select

    controller, terminal_side = pty.openpty()
    deadline = time.monotonic() + 60
    output = b""
    with subprocess.Popen(
        command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=terminal_side, stderr=terminal_side
    ) as process:
        os.close(terminal_side)
        try:
            while select.select([controller], [], [], max(0.0, deadline - time.monotonic()))[0]:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # EIO on Linux: the process closed its end of the terminal
                    break
                if not chunk:
                    break
                output += chunk
            else:
                process.kill()
                pytest.fail(f"no end of output within 60 s: {output.decode(errors='replace')}")
        finally:
            os.close(controller)
        assert process.wait(timeout=60) == exit_code
    return output.decode().replace("\r\n", "\n")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
@pytest.mark.parametrize(
    ("variables", "coloured"),
    [({}, True), ({"NO_COLOR": "1"}, False), ({"TERM": "dumb"}, False)],
    ids=["terminal", "NO_COLOR", "TERM=dumb"],
)
def test_on_a_terminal_the_verdict_is_coloured_as_pytest_decides(
    pytester: pytest.Pytester,
    demo_url: str,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    coloured: bool,
) -> None:
    without_colour_overrides(monkeypatch)
    monkeypatch.setenv("COLUMNS", "80")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    pytester.makepyfile(ONE_FAILURE_IN_THREE)
    output = run_on_a_terminal(
        [
            sys.executable,
            "-m",
            "pytest",
            f"--basetemp={pytester.path / 'basetemp'}",
            *INNER_RUN_OPTIONS,
            f"--staging-url={demo_url}",
        ],
        cwd=pytester.path,
        exit_code=1,
    )
    lines = output.splitlines()

    assert ("\x1b[1m\x1b[31mSTAGING GATE: NO-GO\x1b[0m" in lines) is coloured
    assert ("STAGING GATE: NO-GO" in lines) is not coloured
    assert (ESCAPE in output) is coloured


@pytest.mark.parametrize("quiet", ["-q", "-qq"])
@pytest.mark.parametrize("source", [GO_RUN, ONE_FAILURE_IN_THREE], ids=["GO", "NO-GO"])
def test_quiet_keeps_the_banner_and_its_reasons(
    pytester: pytest.Pytester, demo_url: str, quiet: str, source: str
) -> None:
    pytester.makepyfile(source)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}", quiet)
    block = gate_block(result.outlines)

    assert "staging gate: " in block[0]
    if source == GO_RUN:
        assert block[1:] == ["STAGING GATE: GO"]
    else:
        assert len(block) == 4
        assert ends_with_the_no_go(block)
    assert terminal.HEADER not in result.outlines
    assert not any(line.startswith("slowest requests") for line in result.outlines)


@pytest.mark.parametrize("verbose", [(), ("-v",)], ids=["default", "-v"])
def test_without_quiet_the_table_and_the_slowest_requests_are_shown(
    pytester: pytest.Pytester, demo_url: str, verbose: tuple[str, ...]
) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}", *verbose)
    block = gate_block(result.outlines)

    assert block[1] == terminal.HEADER
    assert parse_table(block)["integration"] == (2, 1, 0, 0, "66.7%", "95%", "FAIL")
    assert parse_table(block)["total"] == (3, 1, 0, 0, "75%", "-", "NO-GO")
    assert any(line.startswith("slowest requests by p95 (") for line in block)
    assert ends_with_the_no_go(block)


def test_the_gate_block_says_the_https_checks_were_skipped_and_why(
    pytester: pytest.Pytester, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    """The bundled security suite on the plain-HTTP demo, whose manifest sets no [security] https
    on an environment not marked sensitive: the note says so and names the key that requires HTTPS."""
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        "--staging-suites",
        "--staging-demo",
        "-m",
        "security",
        "--staging-report=gate.json",
    )
    report = read_report(pytester.path / "gate.json")

    skipped = report["categories"]["security"]["skipped"]
    note = (
        f"security: {skipped} skipped: the target is plain HTTP, [security] https is not set, "
        "and environment 'staging' is not marked sensitive: HTTPS checks skipped "
        '(to require HTTPS, set [security] https = "required")'
    )
    assert result.ret == 0
    assert skipped > 0
    assert note in report["notes"]
    assert result.outlines[-3:] == [
        f"note: partial run: {report['selection']['deselected']} of "
        f"{len(report['tests']) + report['selection']['deselected']} tests deselected (-m security)",
        f"note: {note}",
        "STAGING GATE: GO",
    ]
