"""`pytest-staging gate`, `compare` and `demo`: saved reports re-read exactly as the run
printed them, the changes between two runs, and the demo served in the foreground."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from inner_run import INNER_RUN_OPTIONS, ONE_FAILURE_IN_THREE

from pytest_staging.cli import main
from pytest_staging.report import json_report, terminal
from pytest_staging.report.finished_run import finished_early
from pytest_staging.report.saved import SavedReport

if TYPE_CHECKING:
    from pathlib import Path

GO_TESTS = ONE_FAILURE_IN_THREE.replace("n != 2", "n != 5")


def gated_run(
    pytester: pytest.Pytester, url: str, source: str, name: str, *args: str
) -> pytest.RunResult:
    pytester.makepyfile(test_run=source)
    return pytester.runpytest(
        *INNER_RUN_OPTIONS,
        f"--staging-url={url}",
        f"--staging-report={name}.json",
        f"--staging-summary-md={name}.md",
        *args,
    )


def gate_block(output: str) -> list[str]:
    """The run's lines from the gate table header to the end."""
    lines = output.splitlines()
    start = next(index for index, line in enumerate(lines) if line.startswith("category "))
    return lines[start:]


SKIPS_A_SECURITY_CHECK = """

@pytest.mark.security
def test_hsts():
    pytest.skip("the target is plain HTTP")
"""
NOTES_AND_ERROR_RATE = ("-k", "sums or hsts", "--staging-max-error-rate=5")
"""A partial run and a skipped security check (two notes), and the error rate's line."""


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ((GO_TESTS, ()), 0),
        ((ONE_FAILURE_IN_THREE, ()), 1),
        ((GO_TESTS + SKIPS_A_SECURITY_CHECK, NOTES_AND_ERROR_RATE), 0),
    ],
    ids=["go", "no-go", "notes-and-error-rate"],
)
def test_gate_prints_what_the_run_printed_and_exits_with_the_verdict(
    pytester: pytest.Pytester,
    demo_url: str,
    capsys: pytest.CaptureFixture[str],
    case: tuple[str, tuple[str, ...]],
    code: int,
) -> None:
    source, args = case
    run = gated_run(pytester, demo_url, source, "saved", *args)
    capsys.readouterr()

    exit_code = main(["gate", str(pytester.path / "saved.json")])
    printed = capsys.readouterr().out

    assert run.ret == code
    assert exit_code == code
    assert printed.splitlines()[0].startswith(f"staging gate: {demo_url} (staging), started ")
    assert printed.splitlines()[0].endswith(f", exit code {code}")
    assert printed.splitlines()[1:] == gate_block(run.stdout.str())
    if args:
        assert "note: partial run: 1 of 5 tests deselected (-k 'sums or hsts')" in printed
        assert "note: security: 1 skipped: the target is plain HTTP" in printed
        assert "error rate: no request sent, max_error_rate 5%" in printed


def test_gate_markdown_is_the_summary_the_run_wrote(
    pytester: pytest.Pytester, demo_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    gated_run(pytester, demo_url, ONE_FAILURE_IN_THREE, "saved")
    capsys.readouterr()

    exit_code = main(["gate", str(pytester.path / "saved.json"), "--markdown"])

    assert exit_code == 1
    assert capsys.readouterr().out == (pytester.path / "saved.md").read_text(encoding="utf-8")


def test_a_saved_category_keeps_the_result_the_run_gave_it() -> None:
    """A category that failed on a broken limit, not on its counts: the saved report says
    FAIL as saved, and nothing is invented to explain it (the reasons do)."""
    early = finished_early("built by hand", exit_code=1, target_url="http://127.0.0.1:9")
    document = json_report.build(early)
    document["categories"]["performance"].update(passed=3, ok=False, status="FAIL")
    document["reasons"] = ["performance: GET /api/items: p95 300 ms over its budget 200 ms"]

    report = SavedReport.from_document(document)

    performance = next(c for c in report.verdict.categories if c.name == "performance")
    assert (performance.status, performance.ok, performance.pass_rate) == ("FAIL", False, 100.0)
    assert not hasattr(performance, "breaches")
    row = next(line for line in terminal.table_lines(report) if line.startswith("performance"))
    assert row.split(None, 7)[-1] == "FAIL"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot be read: No such file or directory"),
        ("{not json", "is not JSON: "),
        (
            '{"schema": "something/else"}',
            "is not a pytest-staging JSON report (schema pytest-staging/report/v1)",
        ),
        (
            '{"schema": "pytest-staging/report/v1"}',
            "is not a valid report: the document: 'plugin_version' is a required property",
        ),
    ],
    ids=["missing", "not-json", "other-schema", "invalid"],
)
def test_gate_names_the_file_and_what_is_wrong_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, problem: str
) -> None:
    path = tmp_path / "gate.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")

    exit_code = main(["gate", str(path)])

    assert exit_code == 1
    error = capsys.readouterr().err
    assert error.startswith(f"pytest-staging gate: error: {str(path)!r} ")
    assert problem in error
    assert "Traceback" not in error


def test_compare_lists_what_got_worse_and_exits_1(
    pytester: pytest.Pytester, demo_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    gated_run(pytester, demo_url, GO_TESTS, "old")
    gated_run(pytester, demo_url, ONE_FAILURE_IN_THREE, "new")
    capsys.readouterr()

    exit_code = main(["compare", str(pytester.path / "old.json"), str(pytester.path / "new.json")])
    lines = capsys.readouterr().out.splitlines()

    assert exit_code == 1
    assert "verdict: GO -> NO-GO" in lines
    assert "integration           100%     66.7%  -33.3 pp  OK -> FAIL" in lines
    assert "tests: 1 newly failing, 0 fixed, 0 new, 0 gone" in lines
    worse = lines[lines.index("WORSE (3):") + 1 :]
    assert worse == [
        "  - the verdict went from GO to NO-GO",
        "  - integration: pass rate fell from 100% to 66.7%",
        "  - newly failing: test_run.py::test_sums[2]",
    ]


def with_p95(document: dict[str, Any], name: str, p95_ms: float) -> dict[str, Any]:
    """The report with `name` measured 50 times at the given p95."""
    latency = {**document["latency"], name: {**document["latency"][name], "count": 50}}
    latency[name]["p95_ms"] = p95_ms
    return {**document, "latency": latency}


def test_compare_a_run_with_itself_is_not_worse_but_a_slower_p95_is(
    pytester: pytest.Pytester, demo_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    gated_run(pytester, demo_url, GO_TESTS, "old")
    old = pytester.path / "old.json"
    document = json.loads(old.read_text(encoding="utf-8"))
    baseline = pytester.path / "baseline.json"
    baseline.write_text(json.dumps(with_p95(document, "GET /health", 100.0)), encoding="utf-8")
    tripled = pytester.path / "tripled.json"
    tripled.write_text(json.dumps(with_p95(document, "GET /health", 300.0)), encoding="utf-8")
    capsys.readouterr()

    same = main(["compare", str(old), str(old)])
    same_out = capsys.readouterr().out
    regressed = main(["compare", str(baseline), str(tripled), "--tolerance", "50"])
    regressed_out = capsys.readouterr().out

    assert same == 0
    assert same_out.rstrip().endswith("NOT WORSE: nothing got worse")
    assert regressed == 1
    assert (
        "  - GET /health: p95 300.0 ms is 200% slower than the baseline 100.0 ms" in regressed_out
    )
    assert "tolerance 50%" in regressed_out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_demo_serves_in_the_foreground_until_interrupted() -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "pytest_staging.cli",
        "demo",
        "--mode",
        "degraded",
        "--port",
        str(port),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                assert time.monotonic() < deadline, "the demo never answered"
                time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert health.status_code == 503
    assert process.returncode == 0
    assert f"demo service (degraded) on http://127.0.0.1:{port}".encode() in output
