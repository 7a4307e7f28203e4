"""The edges of a gated run: how it starts, how it ends without a verdict, and where its
reports go.

A gated run replaces its reports with a NO-GO before the first conftest is imported, so a
run pytest ends early never leaves an earlier GO behind; a run that ends without the gate's
verdict never exits 0; pytest's own usage errors, bad target URLs and odd report paths are
one line that names them. Against the real demo on loopback (IPv4 and IPv6).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.cli import main as cli
from pytest_staging.demo.modes import DemoOptions
from pytest_staging.demo.server import DemoServer, DemoStartError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

SMOKE_TEST = "import pytest\n\n@pytest.mark.smoke\ndef test_ok():\n    pass\n"
Read = Callable[["Path"], dict[str, Any]]


@pytest.fixture(autouse=True)
def outside_xdist(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner runs are the controller even when this suite runs under xdist: a gated run
    writes its first NO-GO only outside xdist's workers, which it tells by this variable."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)


def gated(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={url}", "--staging-report=gate.json", *args
    )


@pytest.mark.parametrize("hook", ["pytest_configure(config)", "pytest_sessionstart(session)"])
@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_pytest_exit_0_from_a_conftest_is_a_no_go_that_says_why(
    pytester: pytest.Pytester, demo_url: str, read_report: Read, hook: str, workers: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_one=SMOKE_TEST)
    pytester.makeconftest(
        f"import pytest\n\ndef {hook}:\n    pytest.exit('not today', returncode=0)\n"
    )
    result = pytester.runpytest_subprocess(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "--staging-report=gate.json", *workers
    )
    assert result.ret == 1
    report = read_report(pytester.path / "gate.json")
    assert (report["verdict"], report["exit_code"]) == ("NO-GO", 1)
    assert report["reasons"] == [
        "pytest.exit() ended the run before the gate could decide: not today"
    ]


EARLY_STOPS = {
    "conftest-import-error": (
        ("import a_module_that_does_not_exist\n", ()),
        ("the gate did not start: pytest stopped first*", 4),
    ),
    "unknown-option": ((None, ("--no-such-option",)), ("the gate did not start: *", 4)),
    "collect-only": (
        (None, ("--co",)),
        ("--collect-only runs no test: the gate did not decide", 0),
    ),
}
"""How pytest stops before the gate decides: (conftest, options), (the reason, exit code)."""


@pytest.mark.parametrize("case", EARLY_STOPS)
def test_a_run_pytest_stops_before_the_gate_replaces_an_earlier_go(
    pytester: pytest.Pytester,
    demo_url: str,
    read_report: Read,
    capsys: pytest.CaptureFixture[str],
    case: str,
) -> None:
    (conftest, args), (reason, code) = EARLY_STOPS[case]
    pytester.makepyfile(test_one=SMOKE_TEST)
    assert gated(pytester, demo_url).ret == 0
    assert read_report(pytester.path / "gate.json")["verdict"] == "GO"
    if conftest is not None:
        pytester.makeconftest(conftest)

    assert gated(pytester, demo_url, *args).ret == code

    report = read_report(pytester.path / "gate.json")
    assert (report["verdict"], report["exit_code"]) == ("NO-GO", 1)
    pytest.LineMatcher(report["reasons"]).fnmatch_lines([reason])
    assert len(report["reasons"]) == 1
    capsys.readouterr()
    assert cli(["gate", str(pytester.path / "gate.json")]) == 1
    assert "STAGING GATE: NO-GO" in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_a_strict_config_error_is_the_reason_not_a_missing_result(
    pytester: pytest.Pytester, demo_url: str, read_report: Read, workers: tuple[str, ...]
) -> None:
    pytester.makepyfile(test_one=SMOKE_TEST)
    pytester.makeini("[pytest]\nno_such_key = 1\n")
    result = pytester.runpytest_subprocess(
        *INNER_RUN_OPTIONS,
        f"--staging-url={demo_url}",
        "--staging-report=gate.json",
        "--strict-config",
        *workers,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    report = read_report(pytester.path / "gate.json")
    assert (report["verdict"], report["exit_code"]) == ("NO-GO", 4)
    assert report["reasons"] == ["usage error: Unknown config option: no_such_key"]
    result.stdout.fnmatch_lines(
        ["STAGING GATE: NO-GO", "  - usage error: Unknown config option: no_such_key"]
    )


def test_a_url_with_a_query_is_refused_without_showing_it(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(test_one=SMOKE_TEST)
    result = gated(pytester, f"{demo_url}/api?api_key=key-planted-789", "--staging-summary-md=s.md")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --staging-url: the URL has a query string or fragment (not shown), but every "
            "request path is appended to it: give only scheme, host, port and path, and pass a "
            "key as a header, e.g. --staging-header 'X-Api-Key: ...'"
        ]
    )
    written = [(pytester.path / name).read_text() for name in ("gate.json", "s.md")]
    output = result.stdout.str() + result.stderr.str()
    assert all("key-planted-789" not in text for text in [output, *written])


def test_a_url_with_a_fragment_is_refused(pytester: pytest.Pytester, demo_url: str) -> None:
    pytester.makepyfile(test_one=SMOKE_TEST)
    result = gated(pytester, f"{demo_url}/#top")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --staging-url: the URL has a query string or fragment*"])


@pytest.mark.parametrize(
    ("port", "message"),
    [
        ("99999", "the port 99999 is out of range: expected a port from 1 to 65535"),
        ("0", "the port 0 is out of range: expected a port from 1 to 65535"),
        ("80x", "the port (not shown) is not a number: expected a port from 1 to 65535"),
    ],
)
def test_a_bad_port_is_named(pytester: pytest.Pytester, port: str, message: str) -> None:
    pytester.makepyfile(test_one=SMOKE_TEST)
    result = gated(pytester, f"http://127.0.0.1:{port}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --staging-url: {message}"])


@pytest.fixture(scope="module")
def ipv6_demo() -> Iterator[str]:
    server = DemoServer(DemoOptions(mode="healthy"), host="::1")
    try:
        url = server.start()
    except DemoStartError as exc:
        pytest.skip(f"no IPv6 loopback: {exc}")
    yield url
    server.stop()


def test_an_ipv6_target_is_bracketed_in_the_audit(
    pytester: pytest.Pytester, ipv6_demo: str, read_report: Read
) -> None:
    pytester.makepyfile(test_one=SMOKE_TEST)
    result = gated(pytester, ipv6_demo)
    assert result.ret == 0
    port = ipv6_demo.rpartition(":")[2]
    assert read_report(pytester.path / "gate.json")["audit"]["resolved_address"] == f"[::1]:{port}"


def test_a_report_name_too_long_is_one_line_and_the_summary_is_still_written(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(test_one=SMOKE_TEST)
    name = "r" * 300 + ".json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        f"--staging-url={demo_url}",
        f"--staging-report={name}",
        "--staging-summary-md=summary.md",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --staging-report: '{name}' cannot be written: File name too long"]
    )
    assert "Traceback" not in result.stderr.str()
    summary = (pytester.path / "summary.md").read_text()
    assert "usage error: --staging-report:" in summary


def test_a_summary_name_too_long_is_one_line_and_the_report_is_still_written(
    pytester: pytest.Pytester, demo_url: str, read_report: Read
) -> None:
    pytester.makepyfile(test_one=SMOKE_TEST)
    name = "s" * 300 + ".md"
    result = gated(pytester, demo_url, f"--staging-summary-md={name}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --staging-summary-md: '{name}' cannot be written: File name too long"]
    )
    report = read_report(pytester.path / "gate.json")
    assert report["reasons"][0].startswith("usage error: --staging-summary-md:")


def test_a_report_to_a_fifo_is_written_through_and_the_fifo_stays(
    pytester: pytest.Pytester, demo_url: str, tmp_path: Path
) -> None:
    fifo = tmp_path / "gate.json"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(reader, True)
    keeper = os.open(fifo, os.O_WRONLY)  # the reader sees the end only once the test closes it
    chunks: list[bytes] = []
    thread = threading.Thread(
        target=lambda: chunks.extend(iter(lambda: os.read(reader, 65536), b""))
    )
    thread.start()
    try:
        pytester.makepyfile(test_one=SMOKE_TEST)
        result = pytester.runpytest(
            *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", f"--staging-report={fifo}"
        )
    finally:
        os.close(keeper)
        thread.join(timeout=60)
        os.close(reader)
    assert result.ret == 0
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    documents = _documents(b"".join(chunks).decode())
    assert [document["verdict"] for document in documents][-1] == "GO"
    assert all(document["verdict"] == "NO-GO" for document in documents[:-1])


def _documents(text: str) -> list[dict[str, Any]]:
    """The JSON documents written one after the other into a FIFO."""
    decoder, found, position = json.JSONDecoder(), [], 0
    while text[position:].strip():
        document, position = decoder.raw_decode(text, len(text) - len(text[position:].lstrip()))
        found.append(document)
    return found


def test_a_fifo_nobody_reads_is_one_line_not_a_hang(
    pytester: pytest.Pytester, demo_url: str, tmp_path: Path
) -> None:
    fifo = tmp_path / "gate.json"
    os.mkfifo(fifo)
    pytester.makepyfile(test_one=SMOKE_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", f"--staging-report={fifo}"
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [f"staging: could not write --staging-report {fifo}: it is a FIFO that no process reads"]
    )
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_full_device_is_written_through_with_one_line(
    pytester: pytest.Pytester, demo_url: str, tmp_path: Path
) -> None:
    """Our own /dev/full node (major 1, minor 7) in a temporary folder: the real one is never
    written by a test."""
    device = tmp_path / "full"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("creating a device node needs root (CAP_MKNOD)")
    pytester.makepyfile(test_one=SMOKE_TEST)
    for option in ("--staging-report", "--staging-summary-md"):
        result = pytester.runpytest(
            *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", f"{option}={device}"
        )
        assert result.ret == 0
        result.stdout.fnmatch_lines(
            [f"staging: could not write {option} {device}: No space left on device"]
        )
        assert stat.S_ISCHR(device.lstat().st_mode)


def test_a_report_through_a_symlink_writes_its_target_and_keeps_the_link(
    pytester: pytest.Pytester, demo_url: str, read_report: Read, tmp_path: Path
) -> None:
    target = tmp_path / "reports" / "latest.json"
    target.parent.mkdir()
    target.write_text("{}")
    link = tmp_path / "gate.json"
    link.symlink_to(target)
    pytester.makepyfile(test_one=SMOKE_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", f"--staging-report={link}"
    )
    assert result.ret == 0
    assert link.is_symlink()
    assert link.readlink() == target
    assert read_report(target)["verdict"] == "GO"
