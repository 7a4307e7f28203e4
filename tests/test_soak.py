"""`pytest-staging soak`: runs on a schedule, the verdict on their trends, stop and resume.

The end-to-end soaks run real pytest children against a stub whose memory leaks or holds
steady (`soak_servers.py`) and against the demo. Where a soak runs in this process, its
clock runs fast (`fast_clock`): the waits between runs pass at once, so an hour between
runs costs nothing and no run is ever missed because the machine was slow. A soak in a
child process is followed through events only: a line it prints, a run checking in at a
gate (`run_gate`). The rules themselves are tested on facts built directly.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from soak_servers import run_gate, soak_stub

from pytest_staging import durations, manifest, timing
from pytest_staging.cli import main
from pytest_staging.manifest.records import Soak
from pytest_staging.soak import pytest_args
from pytest_staging.soak.decision import SoakVerdict, decide
from pytest_staging.soak.facts import Latency, RunFacts
from pytest_staging.soak.metrics import Sample, read_series
from pytest_staging.soak.schedule import Next, Schedule, next_run
from pytest_staging.soak.state import SoakState

if TYPE_CHECKING:
    from collections.abc import Callable

INNER_TESTS = """
import os, socket
import pytest

@pytest.mark.smoke
def test_health(staging_client):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.integration
def test_api(staging_client):
    gate = os.environ.get("SOAK_TEST_GATE")
    if gate:  # check in, then wait until the soak test lets this run go on
        host, port = gate.rsplit(":", 1)
        with socket.create_connection((host, int(port))) as check_in:
            check_in.sendall(f"{os.getpid()}\\n".encode())
            check_in.recv(2)
    assert staging_client.get("{path}").status_code == 200
"""
SOAK_MANIFEST = """
[soak]
memory_series = "process_resident_memory_bytes"
"""
START = datetime(2026, 1, 1, tzinfo=UTC)
DEADLINE_S = 120.0
"""A safety net for waits on events, never a measure of anything."""


class FastClock:
    """The soak's clock (`timing`), run fast: every wait between runs passes at once."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def utc_now(self) -> datetime:
        return datetime.now(UTC) + self.ahead

    def sleep(self, seconds: float) -> None:
        self.ahead += timedelta(seconds=max(0.0, seconds))


@pytest.fixture
def fast_clock(monkeypatch: pytest.MonkeyPatch) -> FastClock:
    clock = FastClock()
    monkeypatch.setattr(timing, "utc_now", clock.utc_now)
    monkeypatch.setattr(timing, "sleep", clock.sleep)
    return clock


class SoakChild:
    """`pytest-staging soak` in a child process, its output read line by line as it comes."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest_staging.cli", "soak", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for_line(self, start: str) -> str:
        """The first line printed from now on that starts with `start`."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"the soak printed no line {start!r}: {''.join(self.seen)}")
            assert line is not None, f"the soak ended before {start!r}: {''.join(self.seen)}"
            self.seen.append(line)
            if line.startswith(start):
                return line

    def end(self, sig: int) -> tuple[int, str]:
        """Send `sig`, wait for the soak to end; its exit code and all it printed."""
        self.process.send_signal(sig)
        code = self.process.wait(DEADLINE_S)
        self.reader.join(DEADLINE_S)
        assert self.process.stdout is not None
        self.process.stdout.close()
        while (line := self.lines.get_nowait()) is not None:
            self.seen.append(line)
        return code, "".join(self.seen)


@pytest.fixture
def soak_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the inner tests and the manifest, as the current directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "test_inner.py").write_text(INNER_TESTS.replace("{path}", "/api/thing"))
    (tmp_path / "soak.toml").write_text(SOAK_MANIFEST)
    return tmp_path


def soak_args(url: str, *extra: str) -> list[str]:
    return [
        "--",
        "-p",
        "no:cacheprovider",
        "test_inner.py",
        f"--staging-url={url}",
        "--staging-manifest=soak.toml",
        *extra,
    ]


def finished_runs(state: Path) -> list[int]:
    records = [json.loads(p.read_text()) for p in sorted((state / "runs").glob("*.result.json"))]
    return [r["run"] for r in records if r["status"] == "finished"]


def alive(pid: int) -> bool:
    try:
        return ") Z " not in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False


# --- end to end: trends --------------------------------------------------------------------


def test_a_short_soak_shows_its_trends_but_does_not_judge_them(
    soak_dir: Path, capsys: pytest.CaptureFixture[str], fast_clock: FastClock
) -> None:
    """The stub leaks 12 MiB a run: +38.7 % in 2 minutes. Three runs over 2 minutes cannot
    tell a leak from a cache filling up, so the soak shows the rate and judges nothing (it
    was NO-GO for `memory: +38.7% in 2m`)."""
    span = r"(2m|2m0\ds|1m5\ds)"  # the samples are read after each run, which takes a while
    with soak_stub("leaky") as stub:
        code = main(["soak", "--duration", "3m", "--every", "1m", *soak_args(stub.url)])

    out = capsys.readouterr().out
    assert code == 0, out
    assert (
        "soak: 3 runs over 2m: a trend needs 6 points over at least 10m, so trends will be "
        "shown but not judged (failed runs and the error rate are)\n"
    ) in out
    assert "STAGING SOAK: GO (3 of 3 runs finished, 0 failed)" in out
    assert "\n  every rule holds\n" in out
    assert re.search(
        rf"\n  not judged \(3 points, 6 needed; a span of {span}, 10m needed\): "
        r"(pass rate integration, pass rate smoke, )?memory process_resident_memory_bytes\n",
        out,
    ), out
    summary = (soak_dir / ".staging-soak" / "soak-summary.md").read_text()
    assert summary.startswith("# Soak: GO\n")
    assert re.search(
        r"\| memory \| process_resident_memory_bytes \| 3 \| 62\.0 MiB \| 86\.0 MiB \| "
        rf"\+3\d\.\d% in {span} \| - \| ≤ \+5%/h \| not judged: 3 points, 6 needed; a span "
        rf"of {span}, 10m needed \|",
        summary,
    ), summary
    page = (soak_dir / ".staging-soak" / "soak-summary.html").read_text()
    assert '<td class="not-judged">not judged: 3 points, 6 needed; a span of ' in page
    assert "<th>95% CI</th>" in page


def test_a_steady_target_is_go_with_every_trend_judged(
    soak_dir: Path, capsys: pytest.CaptureFixture[str], fast_clock: FastClock
) -> None:
    (soak_dir / "soak.toml").write_text(
        SOAK_MANIFEST + 'cpu_series = "process_cpu_seconds_total"\n'
    )
    with soak_stub("steady") as stub:
        code = main(["soak", "--duration", "7h", "--every", "1h", *soak_args(stub.url)])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "STAGING SOAK: GO (7 of 7 runs finished, 0 failed)" in out
    assert out.endswith("\n  every rule holds\n"), out
    summary = (soak_dir / ".staging-soak" / "soak-summary.md").read_text()
    assert (
        "| memory | process_resident_memory_bytes | 7 | 50.0 MiB | 50.0 MiB | +0.0%/h | "
        "+0.0% to +0.0% | ≤ +5%/h | OK |"
    ) in summary
    assert re.search(r"\| cpu \| process_cpu_seconds_total \| 6 \| .* \| OK \|", summary), summary
    assert "| pass rate | smoke | 7 | 100% | 100% | +0.0 points/h |" in summary
    assert "| not judged" not in summary


def test_the_healthy_demo_is_go_over_a_short_soak(
    soak_dir: Path, capsys: pytest.CaptureFixture[str], demo_url: str, fast_clock: FastClock
) -> None:
    (soak_dir / "test_inner.py").write_text(INNER_TESTS.replace("{path}", "/api/items"))

    code = main(["soak", "--duration", "2h", "--every", "1h", *soak_args(demo_url)])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "STAGING SOAK: GO (2 of 2 runs finished, 0 failed)" in out
    summary = (soak_dir / ".staging-soak" / "soak-summary.md").read_text()
    assert "| memory | process_resident_memory_bytes | 2 |" in summary
    assert "| not judged: 2 points, 6 needed |" in summary


def test_the_leaky_demo_over_a_long_enough_soak_is_no_go_with_its_interval(
    soak_dir: Path,
    capsys: pytest.CaptureFixture[str],
    demo_servers: Callable[..., str],
    fast_clock: FastClock,
    read_report: Callable[[Path], dict[str, Any]],
) -> None:
    """Six runs an hour apart, each leaving 4 MiB more resident in the demo: a drift whose
    whole interval is over the 5 %/h limit."""
    (soak_dir / "test_inner.py").write_text(INNER_TESTS.replace("{path}", "/api/items"))
    url = demo_servers("leaky", leak_kib=4096)

    code = main(["soak", "--duration", "6h", "--every", "1h", *soak_args(url)])

    out = capsys.readouterr().out
    assert code == 1, out
    assert "soak: run 1 of 6 GO (2 passed) - soak so far GO - next in 5" in out
    assert "soak: run 6 of 6 GO (2 passed) - soak so far NO-GO - last run done" in out
    assert "STAGING SOAK: NO-GO (6 of 6 runs finished, 0 failed)" in out
    reason = re.search(
        r"\n  - memory: process_resident_memory_bytes: \+(\d+\.\d)%/h \(95% CI "
        r"\+(\d+\.\d)% to \+(\d+\.\d)%\) over 6 samples \(\d+\.\d MiB -> \d+\.\d MiB\), "
        r"limit 5%/h\n",
        out,
    )
    assert reason, out
    rate, low, high = (float(value) for value in reason.groups())
    assert 5 < low <= rate <= high, out
    for run in range(1, 7):
        assert read_report(soak_dir / ".staging-soak" / "runs" / f"00{run}.json")["verdict"] == "GO"
    summary = (soak_dir / ".staging-soak" / "soak-summary.md").read_text()
    assert summary.startswith("# Soak: NO-GO\n")
    assert re.search(
        r"\| memory \| process_resident_memory_bytes \| 6 \| [^|]+ \| [^|]+ \| \+[\d.]+%/h \| "
        r"\+[\d.]+% to \+[\d.]+% \| ≤ \+5%/h \| FAIL \|",
        summary,
    ), summary
    page = (soak_dir / ".staging-soak" / "soak-summary.html").read_text()
    assert 'id="soak-chart-memory"' in page
    assert '<td class="FAIL">FAIL</td>' in page
    assert "<script" not in page
    assert "<link" not in page


# --- end to end: stop and resume -------------------------------------------------------------


def test_a_soak_killed_between_runs_resumes_and_keeps_the_finished_runs(
    soak_dir: Path, capsys: pytest.CaptureFixture[str], fast_clock: FastClock
) -> None:
    state = soak_dir / ".staging-soak"
    with soak_stub("steady") as stub:
        first = SoakChild("--duration", "2h", "--every", "1h", *soak_args(stub.url))
        first.wait_for_line("soak: run 1 of 2 GO")  # then it waits an hour for run 2
        first.end(signal.SIGKILL)
        kept = (state / "runs" / "001.json").read_bytes()
        assert finished_runs(state) == [1]

        code = main(["soak"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "soak: resuming the soak started " in out
    assert "soak: kept from before: 1 of 2 runs finished, 0 failed" in out
    assert "STAGING SOAK: GO (2 of 2 runs finished, 0 failed)" in out
    assert (state / "runs" / "001.json").read_bytes() == kept
    assert finished_runs(state) == [1, 2]


def test_a_run_going_when_the_soak_is_killed_is_stopped_and_made_again(
    soak_dir: Path, capsys: pytest.CaptureFixture[str], fast_clock: FastClock
) -> None:
    state = soak_dir / ".staging-soak"
    with soak_stub("steady") as stub, run_gate() as gate:
        env = {**os.environ, "SOAK_TEST_GATE": gate.address}
        first = SoakChild("--duration", "2h", "--every", "1h", *soak_args(stub.url), env=env)
        orphan = gate.wait_for_check_in(1)  # run 1 is in its test, held there
        first.end(signal.SIGKILL)
        assert json.loads((state / "runs" / "001.running.json").read_text())["pid"] == orphan
        assert alive(orphan)

        code = main(["soak", "--run-timeout", "30s"])  # its runs do not see the gate

    out = capsys.readouterr().out
    assert code == 0, out
    assert (
        f"soak: run 1: stopped the run left going by the earlier soak (process group {orphan})"
        in out
    )
    assert not alive(orphan)
    assert finished_runs(state) == [1, 2]
    assert sorted(p.name for p in (state / "runs").iterdir() if "attempt" in p.name) == []


def test_a_soak_stopped_during_a_run_stops_the_run_and_does_not_count_it(
    soak_dir: Path,
) -> None:
    state = soak_dir / ".staging-soak"
    with soak_stub("steady") as stub, run_gate() as gate:
        env = {**os.environ, "SOAK_TEST_GATE": gate.address}
        soak = SoakChild("--duration", "2h", "--every", "1h", *soak_args(stub.url), env=env)
        run = gate.wait_for_check_in(1)
        code, out = soak.end(signal.SIGTERM)

    assert code == 128 + signal.SIGTERM, out
    assert (
        "soak: stopped by SIGTERM; every finished run is kept, a run that was going is not" in out
    )
    assert not alive(run)
    assert sorted(p.name for p in (state / "runs").iterdir() if not p.name.endswith(".log")) == []


def test_a_stopped_soak_resumes_late_missing_the_runs_whose_time_passed(
    soak_dir: Path, capsys: pytest.CaptureFixture[str], fast_clock: FastClock
) -> None:
    state = soak_dir / ".staging-soak"
    with soak_stub("steady") as stub:
        first = SoakChild("--duration", "3h", "--every", "1h", *soak_args(stub.url))
        first.wait_for_line("soak: run 1 of 3 GO")
        stopped_code, stopped_out = first.end(signal.SIGTERM)
        assert stopped_code == 128 + signal.SIGTERM, stopped_out
        assert "soak: stopped by SIGTERM; every finished run is kept" in stopped_out
        fast_clock.sleep(2 * 3600)  # the soak stays stopped past the time of runs 2 and 3

        code = main(["soak"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "soak: run(s) 2 missed: their time passed while the soak was stopped" in out
    assert "STAGING SOAK: GO (2 of 3 runs finished, 0 failed, 1 missed)" in out
    assert finished_runs(state) == [1, 3]
    assert "| 2 | due " in (state / "soak-summary.md").read_text()


def test_a_run_over_its_time_limit_is_stopped_with_its_processes_and_fails(
    soak_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first run hangs (a child that sleeps for a minute, and its own child): the time
    limit ends it, and run 2, whose time has come by then, runs at once. The limit leaves a
    loaded machine time to start pytest: stopped before its test, the run would leave no
    grandchild to look for."""
    (soak_dir / "test_inner.py").write_text(
        "import os, subprocess, sys, time\nimport pytest\n\n"
        "@pytest.mark.smoke\n"
        "def test_hangs_the_first_time():\n"
        "    if os.path.exists('grandchild.pid'):\n"
        "        return\n"
        "    child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "    open('grandchild.pid', 'w').write(str(child.pid))\n"
        "    time.sleep(60)\n"
    )
    (soak_dir / "soak.toml").write_text("")
    with soak_stub("steady") as stub:
        limits = ["--duration", "4s", "--every", "2s", "--run-timeout", "10s"]
        code = main(["soak", *limits, *soak_args(stub.url)])

    out = capsys.readouterr().out
    assert code == 1, out
    assert "soak: run 1 of 2 NO-GO (0 passed) - soak so far NO-GO - next now" in out
    assert "soak: run 2 of 2 GO (1 passed) - soak so far NO-GO - last run done" in out
    assert (
        "  - failed runs: 1 of 2 (at most 0 allowed): run 1 NO-GO: stopped at the 10s time limit; "
        "the run was interrupted before it finished\n"
    ) in out
    assert not alive(int((soak_dir / "grandchild.pid").read_text()))
    assert (
        "time limit 10s reached: stopping" in (soak_dir / ".staging-soak/runs/001.log").read_text()
    )


# --- the command line --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--staging-report=mine.json"],
            "--staging-report: the soak writes each run's report itself, to --state DIR/runs/NNN.json; leave the option out",
        ),
        (
            ["--staging-token", "abc123"],
            "--staging-token: the soak saves its pytest arguments in --state DIR/schedule.json, and secrets never go in a file; set PYTEST_STAGING_TOKEN instead, every run inherits it",
        ),
        (
            ["--staging-url=https://user:pw@staging.example.com"],
            "--staging-url: the URL holds a password, and the soak saves its pytest arguments in a file; set PYTEST_STAGING_URL instead, every run inherits it",
        ),
    ],
)
def test_arguments_the_soak_cannot_repeat_are_refused_before_anything_is_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)  # were a refusal missed, the runs would find no tests here
    state = tmp_path / "state"

    code = main(["soak", "--duration", "2s", "--every", "1s", "--state", str(state), "--", *args])

    assert code == 1
    assert capsys.readouterr().err == f"pytest-staging soak: error: {message}\n"
    assert not state.exists()


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--duration", "2", "expected a duration like 30s, 10m, 2h, 1h30m or 1d, got '2'"),
        (
            "--every",
            "0s",
            "expected a duration above zero, like 30s, 10m, 2h, 1h30m or 1d, got '0s'",
        ),
        (
            "--run-timeout",
            "1h-5m",
            "expected a duration like 30s, 10m, 2h, 1h30m or 1d, got '1h-5m'",
        ),
    ],
)
def test_a_bad_duration_names_the_option_and_the_valid_forms(
    capsys: pytest.CaptureFixture[str], option: str, value: str, problem: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["soak", option, value])

    assert exit_info.value.code == 2
    assert f"pytest-staging soak: error: argument {option}: {problem}\n" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("10m", 600), ("2h", 7200), ("1h30m", 5400), ("1d", 86400), ("1d2h3m4s", 93784)],
)
def test_durations_take_every_documented_form(text: str, seconds: float) -> None:
    assert durations.parse(text) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(45, "45s"), (65, "1m05s"), (600, "10m"), (7140, "1h59m"), (7200, "2h"), (97200, "1d3h")],
)
def test_durations_are_shown_in_their_two_largest_units(seconds: float, text: str) -> None:
    assert durations.shown(seconds) == text


def test_a_soak_of_one_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["soak", "--duration", "2h", "--every", "2h", "--state", str(tmp_path / "s")])

    assert code == 1
    assert capsys.readouterr().err == (
        "pytest-staging soak: error: --every 2h leaves room for one run in --duration 2h, and "
        "one run has no trend; shorten --every\n"
    )
    assert not (tmp_path / "s").exists()


def test_a_new_soak_needs_a_duration_and_an_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["soak", "--state", str(tmp_path / "s"), "--", "tests"])

    assert code == 1
    assert capsys.readouterr().err == (
        f"pytest-staging soak: error: --duration and --every are needed to start a soak; "
        f"--state {tmp_path / 's'} holds none to resume\n"
    )
    assert not (tmp_path / "s").exists()


def test_an_invalid_soak_table_stops_the_soak_before_its_first_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "staging.toml").write_text("[soak]\ncpu_growth_per_hour = 5\n")

    code = main(["soak", "--duration", "1h", "--every", "20m", "--", "tests"])

    assert code == 1
    assert capsys.readouterr().err == (
        f"pytest-staging soak: error: invalid manifest: {tmp_path / 'staging.toml'}: "
        "soak.cpu_growth_per_hour: needs soak.cpu_series: the metric series to read the trend "
        "from\n"
    )
    assert not (tmp_path / ".staging-soak" / "schedule.json").exists()


def test_a_second_soak_on_the_same_state_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "s"

    with SoakState(state).locked():
        code = main(["soak", "--duration", "1h", "--every", "20m", "--state", str(state)])

    assert code == 1
    assert capsys.readouterr().err == (
        f"pytest-staging soak: error: another soak (process {os.getpid()}) is using --state "
        f"{state}: wait for it, stop it, or give another --state\n"
    )


def saved_schedule(state: Path, every_s: float = 7200.0) -> None:
    schedule = Schedule(START, 86400.0, every_s, ("tests",))
    (state / "runs").mkdir(parents=True)
    (state / "schedule.json").write_text(json.dumps(schedule.to_json()))


def test_resuming_with_other_settings_is_refused_unless_restarted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "s"
    saved_schedule(state)

    code = main(["soak", "--every", "1h", "--state", str(state)])

    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"pytest-staging soak: error: --state {state} holds a soak started ")
    assert err.endswith(
        "with other settings: --every 1h (it has 2h). Resume it without them, or pass "
        "--restart to keep it aside and start a new soak\n"
    )


def test_restart_keeps_the_earlier_soak_aside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    state = tmp_path / "s"
    saved_schedule(state)
    (tmp_path / "test_ok.py").write_text("def test_ok():\n    pass\n")

    code = main(["soak", "--restart", "--duration", "2s", "--every", "1s", "--state", "s", "--"])

    out = capsys.readouterr().out
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("s-")]
    assert len(aside) == 1
    assert f"soak: --restart: the earlier soak is kept in {aside[0].relative_to(tmp_path)}" in out
    assert json.loads((aside[0] / "schedule.json").read_text())["every_s"] == 7200.0
    assert json.loads((state / "schedule.json").read_text())["every_s"] == 1.0
    assert code == 1  # no target configured: every run is a failed run
    assert "failed runs: 2 of 2" in out


# --- the schedule ------------------------------------------------------------------------


def test_the_schedule_has_one_run_per_interval_within_the_duration() -> None:
    assert Schedule(START, 86400.0, 7200.0, ()).runs == 12
    assert Schedule(START, 90000.0, 7200.0, ()).runs == 13
    assert Schedule(START, 6.0, 2.0, ()).planned(3) == START + timedelta(seconds=4)


def test_the_next_run_waits_for_its_time_or_runs_the_latest_overdue_one_now() -> None:
    schedule = Schedule(START, 6 * 3600.0, 3600.0, ())
    soon = START + timedelta(minutes=30)
    late = START + timedelta(hours=3, minutes=10)

    assert next_run(schedule, {1}, soon) == Next(2, START + timedelta(hours=1))
    assert next_run(schedule, {1}, late) == Next(4, late, missed=(2, 3))
    assert next_run(schedule, {1, 2, 3, 4, 5, 6}, late) is None


# --- the verdict ---------------------------------------------------------------------------


def run_facts(run: int, hours: float, **fields: Any) -> RunFacts:
    base: dict[str, Any] = {"verdict": "GO", "passed": 3}
    return RunFacts(run, "finished", START + timedelta(hours=hours), **{**base, **fields})


def sample(hours: float, **values: float) -> Sample:
    return Sample(START + timedelta(hours=hours), "http://t/metrics", values)


def p95_runs(*p95s: float, hours: float = 1.0) -> list[RunFacts]:
    return [
        run_facts(
            n + 1,
            n * hours,
            latency={"GET /x": Latency(20, 0, p95), "GET /health": Latency(1, 0, 5)},
        )
        for n, p95 in enumerate(p95s)
    ]


def test_p95_growing_faster_than_its_limit_is_no_go_with_the_numbers() -> None:
    verdict = decide(p95_runs(10, 20, 30, 40, 50, 60), {}, Soak())

    assert not verdict.go
    assert verdict.reasons == (
        "p95 drift: GET /x: +100.0%/h (95% CI +100.0% to +100.0%) over 6 runs "
        "(10.0 ms -> 60.0 ms), limit 20%/h",
    )
    assert verdict.notes == (
        "p95 drift not judged for 1 request name(s) with fewer than 20 requests in 6 runs "
        "(e.g. GET /health): a p95 of a few requests is only the slowest of them",
    )


def test_a_noisy_p95_is_not_a_drift_unless_its_interval_is_over_the_limit() -> None:
    """A healthy service's p95 jumping between 10 and 25 ms: the rate is over the limit,
    its interval is not, so it is no drift (least squares said +30 %/h: NO-GO)."""
    verdict = decide(p95_runs(10, 13, 16, 12, 22, 25), {}, Soak(p95_noise_ms=0))

    assert verdict.go
    (trend,) = verdict.trends
    assert (trend.shown_rate, trend.shown_interval, trend.result) == (
        "+30.0%/h",
        "-5.0% to +65.0%",
        "OK (not significant)",
    )


def test_a_short_soak_of_few_runs_judges_no_trend_and_says_why() -> None:
    """The defect: three runs of a healthy demo 13 s apart, p95 15 -> 26 ms, were NO-GO for
    `p95 drift +72 % in 26s`."""
    verdict = decide(p95_runs(15.1, 18.0, 26.0, hours=13 / 3600), {}, Soak())

    assert verdict.go
    assert verdict.reasons == ()
    assert verdict.notes == (
        "p95 drift not judged for 1 request name(s) with fewer than 20 requests in 3 runs "
        "(e.g. GET /health): a p95 of a few requests is only the slowest of them",
        "not judged (3 points, 6 needed; a span of 26s, 10m needed): p95 GET /x",
    )
    (trend,) = verdict.trends
    assert (trend.shown_rate, trend.result) == ("+72.2% in 26s", "not judged")


def test_one_slow_run_among_steady_ones_is_no_trend_at_all() -> None:
    verdict = decide(p95_runs(10, 10, 10, 10, 10, 18, 10, 10, 10, 10, 10, 10, hours=2), {}, Soak())

    assert verdict.go
    assert verdict.trends[0].per_hour == 0.0


def test_p95_growth_under_the_noise_floor_is_not_a_drift() -> None:
    runs = p95_runs(1.5, 1.8, 2.0, 2.3, 2.5, 2.8, hours=1 / 6)

    verdict = decide(runs, {}, Soak())

    assert verdict.go
    (trend,) = verdict.trends
    assert (trend.shown_rate, trend.result) == ("+82.0% in 50m", "OK (noise)")
    assert not decide(runs, {}, Soak(p95_noise_ms=0.1)).go


def test_a_soak_shorter_than_an_hour_is_judged_on_its_whole_change() -> None:
    runs = [run_facts(n + 1, n / 6) for n in range(6)]
    mib = 1024 * 1024

    def verdict(*memory: float) -> SoakVerdict:
        samples = {n + 1: sample(n / 6, mem=value * mib) for n, value in enumerate(memory)}
        return decide(runs, samples, Soak(memory_series="mem"))

    assert verdict(100, 101, 102, 103, 104, 105).go  # 5 % in 50 minutes, not 6 %/h
    assert verdict(100, 102, 104, 106, 108, 110).reasons == (
        "memory: mem: +10.0% in 50m (95% CI +10.0% to +10.0%) over 6 samples "
        "(100.0 MiB -> 110.0 MiB), limit 5%/h",
    )
    assert verdict(100, 100, 100, 100, 100, 100).notes[-1] == (
        "the soak spans less than an hour: each trend is judged on its whole change against "
        "the limit per hour"
    )


def test_memory_growth_is_judged_in_percent_of_where_the_line_starts() -> None:
    runs = [run_facts(n + 1, n) for n in range(6)]
    mib = 1024 * 1024
    samples = {n + 1: sample(n, mem=(100 + 10 * n) * mib) for n in range(6)}

    verdict = decide(runs, samples, Soak(memory_series="mem", memory_growth_per_hour=5))

    assert verdict.reasons == (
        "memory: mem: +10.0%/h (95% CI +10.0% to +10.0%) over 6 samples "
        "(100.0 MiB -> 150.0 MiB), limit 5%/h",
    )


def test_cpu_use_is_derived_from_the_counter_and_a_restart_is_left_out() -> None:
    runs = [run_facts(n + 1, n) for n in range(8)]
    # 10, 20, 30, 40, 50 and 60 % of a core, then a restart
    counter = (0.0, 360.0, 1080.0, 2160.0, 3600.0, 5400.0, 7560.0, 5.0)
    samples = {n + 1: sample(n, cpu=value) for n, value in enumerate(counter)}

    verdict = decide(runs, samples, Soak(cpu_series="cpu", cpu_growth_per_hour=5))

    assert verdict.reasons == (
        "cpu: use from cpu: +10.0 points/h (95% CI +10.0 points to +10.0 points) over 6 "
        "intervals (10.0% -> 60.0% of one core), limit 5 points/h",
    )
    assert "cpu went back 1 time(s) (the target restarted?): those intervals are left out" in (
        verdict.notes
    )


def test_a_falling_pass_rate_is_no_go_even_above_its_threshold() -> None:
    runs = [
        run_facts(n + 1, n, pass_rates={"integration": rate})
        for n, rate in enumerate((100, 98, 96, 94, 92, 90))
    ]

    verdict = decide(runs, {}, Soak())

    assert verdict.reasons == (
        "pass rate: integration: -2.0 points/h (95% CI -2.0 points to -2.0 points) over 6 "
        "runs (100% -> 90%), limit a drop of 1 points/h",
    )


def test_the_error_rate_counts_the_requests_of_all_runs_together() -> None:
    runs = [
        run_facts(1, 0, latency={"GET /x": Latency(50, 0, 5.0)}),
        run_facts(2, 1, latency={"GET /x": Latency(50, 3, 5.0)}),
    ]

    verdict = decide(runs, {}, Soak())

    assert verdict.reasons == ("error rate: 3 of 100 requests failed across 2 runs (3%), limit 1%",)
    assert decide(runs, {}, Soak(error_rate=5)).go


def test_a_run_without_a_report_is_a_failed_run_never_skipped() -> None:
    runs = [
        run_facts(1, 0),
        RunFacts(2, "finished", START + timedelta(hours=1), problem="no report (exit code -9)"),
        RunFacts(3, "missed", None),
    ]

    verdict = decide(runs, {}, Soak())

    assert verdict.reasons == (
        "failed runs: 1 of 2 (at most 0 allowed): run 2 FAILED: no report (exit code -9)",
    )
    assert (
        "run(s) 3 missed: their time passed while the soak was stopped or an earlier run overran"
        in verdict.notes
    )
    assert decide(runs, {}, Soak(max_failed_runs=1)).go


def test_a_declared_series_that_cannot_be_read_is_no_go() -> None:
    runs = [run_facts(1, 0), run_facts(2, 1)]
    samples = {
        1: sample(0, mem=1.0),
        2: Sample(START, "u", problems=("GET u answered 404: nope",)),
    }

    verdict = decide(runs, samples, Soak(memory_series="mem"))

    assert verdict.reasons == ("mem could not be read after run(s) 2: GET u answered 404: nope",)


def test_one_run_has_no_trend_and_no_run_is_no_go() -> None:
    one = decide([run_facts(1, 0, pass_rates={"smoke": 100.0})], {}, Soak())
    assert one.go
    assert one.notes[-1] == (
        "not judged (1 point, 6 needed; a span of 0s, 10m needed): pass rate smoke"
    )

    none = decide([RunFacts(1, "missed", None)], {}, Soak())
    assert none.reasons == ("no run finished: a soak never passes without runs",)


# --- metrics, manifest, arguments ----------------------------------------------------------

METRICS = """\
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
# TYPE heap_bytes gauge
heap_bytes{area="young"} 2
heap_bytes{area="old"} 3
# TYPE request_seconds histogram
request_seconds_bucket{le="+Inf"} 7
request_seconds_count 7
request_seconds_sum 1.5
"""


def test_series_are_read_by_sample_or_family_name_and_summed_over_labels() -> None:
    values, problems = read_series(
        METRICS,
        [
            "process_cpu_seconds_total",
            "process_cpu_seconds",
            "heap_bytes",
            "request_seconds",
            "absent",
        ],
    )

    assert values == {
        "process_cpu_seconds_total": 12.5,
        "process_cpu_seconds": 12.5,
        "heap_bytes": 5.0,
    }
    assert problems == [
        "request_seconds is not among the exposed series",
        "absent is not among the exposed series",
    ]
    assert read_series("garbage {", ["x"])[1][0].startswith(
        "the metrics are not in Prometheus text format"
    )


def test_the_soak_table_fills_defaults_and_takes_the_monitoring_metrics_path(
    tmp_path: Path,
) -> None:
    path = tmp_path / "staging.toml"
    path.write_text('[monitoring]\nmetrics_path = "/prom"\n[soak]\nmemory_series = "rss"\n')

    loaded = manifest.load(path).soak

    assert loaded == Soak(metrics_path="/prom", memory_series="rss")
    assert loaded.series == ("rss",)
    assert manifest.Manifest().soak == Soak(metrics_path="/metrics")


def test_a_soak_limit_without_its_series_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "staging.toml"
    path.write_text("[soak]\ncpu_growth_per_hour = 5\n")

    with pytest.raises(manifest.ManifestError) as error:
        manifest.load(path)

    assert error.value.problems == [
        "soak.cpu_growth_per_hour: needs soak.cpu_series: the metric series to read the trend from"
    ]


def test_bad_soak_values_say_what_is_valid() -> None:
    problems = manifest.validate(
        {
            "soak": {
                "error_rate": 120,
                "max_failed_runs": 0.5,
                "memory_series": "rss mb",
                "p95_growth": 3,
            }
        }
    )

    assert problems == [
        "soak.p95_growth: unknown key (did you mean 'p95_growth_per_hour'?); valid keys here: "
        "cpu_growth_per_hour, cpu_series, error_rate, max_failed_runs, memory_growth_per_hour, "
        "memory_series, metrics_path, p95_growth_per_hour, p95_min_requests, p95_noise_ms, "
        "pass_rate_drop_per_hour",
        "soak.error_rate: expected a failed-request rate in percent, from 0 to 100, got 120",
        "soak.max_failed_runs: expected a whole number of runs, 0 or more, got 0.5",
        'soak.memory_series: expected a Prometheus metric name, got "rss mb"',
    ]


def test_the_manifest_is_found_the_way_a_run_finds_it(tmp_path: Path) -> None:
    (tmp_path / "staging.toml").write_text("")

    def found(*args: str, environ: dict[str, str] | None = None, cwd: Path = tmp_path) -> Any:
        return pytest_args.manifest_path(args, environ or {}, cwd)

    assert found("--staging-manifest", "m.toml") == tmp_path / "m.toml"
    assert found("--staging-manifest=/abs.toml") == Path("/abs.toml")
    assert found(environ={"PYTEST_STAGING_MANIFEST": "e.toml"}) == tmp_path / "e.toml"
    assert found("--staging-demo").parts[-2:] == ("demo", "staging.toml")
    assert found() == tmp_path / "staging.toml"
    assert found(cwd=tmp_path / "nowhere") is None
