"""`pytest-staging soak`: runs on a schedule, the verdict on their trends, stop and resume.

The end-to-end soaks run real pytest children a second or two apart against a stub whose
memory leaks or holds steady (`soak_servers.py`) and against the healthy demo; the rules
themselves are tested on facts built directly.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from soak_servers import soak_stub

from pytest_staging import manifest
from pytest_staging.cli import main
from pytest_staging.manifest import Soak
from pytest_staging.soak import durations, pytest_args
from pytest_staging.soak.decision import SoakVerdict, decide
from pytest_staging.soak.facts import Latency, RunFacts
from pytest_staging.soak.metrics import Sample, read_series
from pytest_staging.soak.schedule import Next, Schedule, next_run
from pytest_staging.soak.state import SoakState

if TYPE_CHECKING:
    from collections.abc import Callable

INNER_TESTS = """
import os, time
import pytest

@pytest.mark.smoke
def test_health(staging_client):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.integration
def test_api(staging_client):
    time.sleep(float(os.environ.get("SOAK_TEST_SLEEP", "0")))
    assert staging_client.get("{path}").status_code == 200
"""
SOAK_MANIFEST = """
[soak]
memory_series = "process_resident_memory_bytes"
"""
START = datetime(2026, 1, 1, tzinfo=UTC)


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


def soak_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest_staging.cli", "soak", *args]


def wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout:g} s"
        time.sleep(0.05)


def finished_runs(state: Path) -> list[int]:
    records = [json.loads(p.read_text()) for p in sorted((state / "runs").glob("*.result.json"))]
    return [r["run"] for r in records if r["status"] == "finished"]


def alive(pid: int) -> bool:
    try:
        return ") Z " not in Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False


# --- end to end -------------------------------------------------------------------------


def test_a_leaking_target_is_no_go_for_memory_drift(
    soak_dir: Path,
    capsys: pytest.CaptureFixture[str],
    read_report: Callable[[Path], dict[str, Any]],
) -> None:
    with soak_stub("leaky") as stub:
        code = main(["soak", "--duration", "9s", "--every", "3s", *soak_args(stub.url)])

    out = capsys.readouterr().out
    assert code == 1, out
    assert "soak: run 1 of 3 GO (2 passed) - soak so far GO - next " in out
    assert "soak: run 3 of 3 GO (2 passed) - soak so far NO-GO - last run done" in out
    assert "STAGING SOAK: NO-GO (3 of 3 runs finished, 0 failed)" in out
    assert re.search(
        r"\n  - memory: process_resident_memory_bytes: \+3\d\.\d% in \ds over 3 samples "
        r"\(62\.0 MiB -> 86\.0 MiB\), limit 5%/h\n",
        out,
    ), out
    for run in (1, 2, 3):
        assert read_report(soak_dir / ".staging-soak" / "runs" / f"00{run}.json")["verdict"] == "GO"
    summary = (soak_dir / ".staging-soak" / "soak-summary.md").read_text()
    assert summary.startswith("# Soak: NO-GO\n")
    assert "| memory | process_resident_memory_bytes | 3 | 62.0 MiB |" in summary
    page = (soak_dir / ".staging-soak" / "soak-summary.html").read_text()
    assert 'id="soak-chart-memory"' in page
    assert "<script" not in page
    assert "<link" not in page


def test_a_steady_target_is_go(soak_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (soak_dir / "soak.toml").write_text(
        SOAK_MANIFEST + 'cpu_series = "process_cpu_seconds_total"\n'
    )
    with soak_stub("steady") as stub:
        code = main(["soak", "--duration", "9s", "--every", "3s", *soak_args(stub.url)])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "STAGING SOAK: GO (3 of 3 runs finished, 0 failed)" in out
    assert "  every rule holds" in out
    summary = (soak_dir / ".staging-soak" / "soak-summary.md").read_text()
    memory = r"\| memory \| process_resident_memory_bytes \| 3 \| 50\.0 MiB \| 50\.0 MiB \| \+0\.0% in \ds \|"
    assert re.search(memory, summary), summary
    assert re.search(r"\| cpu \| process_cpu_seconds_total \| 2 \| [45]\.\d% CPU \|", summary), (
        summary
    )


def test_the_healthy_demo_is_go_over_a_short_soak(
    soak_dir: Path, capsys: pytest.CaptureFixture[str], demo_url: str
) -> None:
    (soak_dir / "test_inner.py").write_text(INNER_TESTS.replace("{path}", "/api/items"))

    code = main(["soak", "--duration", "4s", "--every", "2s", *soak_args(demo_url)])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "STAGING SOAK: GO (2 of 2 runs finished, 0 failed)" in out
    summary = (soak_dir / ".staging-soak" / "soak-summary.md").read_text()
    assert "| memory | process_resident_memory_bytes | 2 |" in summary


def test_the_leaky_demo_is_no_go_for_memory_drift(
    soak_dir: Path, capsys: pytest.CaptureFixture[str], demo_servers: Callable[..., str]
) -> None:
    (soak_dir / "test_inner.py").write_text(INNER_TESTS.replace("{path}", "/api/items"))
    url = demo_servers("leaky", leak_kib=4096)

    code = main(["soak", "--duration", "9s", "--every", "3s", *soak_args(url)])

    out = capsys.readouterr().out
    assert code == 1, out
    assert "STAGING SOAK: NO-GO (3 of 3 runs finished, 0 failed)" in out
    assert "\n  - memory: process_resident_memory_bytes: +" in out


def test_a_soak_killed_between_runs_resumes_and_keeps_the_finished_runs(
    soak_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = soak_dir / ".staging-soak"
    with soak_stub("steady") as stub:
        command = soak_command("--duration", "6s", "--every", "3s", *soak_args(stub.url))
        first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(state / "runs" / "001.json")
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
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
    soak_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = soak_dir / ".staging-soak"
    with soak_stub("steady") as stub:
        command = soak_command("--duration", "4s", "--every", "2s", *soak_args(stub.url))
        env = {**os.environ, "SOAK_TEST_SLEEP": "3"}
        first = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for(state / "runs" / "001.running.json")
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        orphan = json.loads((state / "runs" / "001.running.json").read_text())["pid"]
        assert alive(orphan)

        code = main(["soak", "--run-timeout", "30s"])

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
    with soak_stub("steady") as stub:
        command = soak_command("--duration", "4s", "--every", "2s", *soak_args(stub.url))
        env = {**os.environ, "SOAK_TEST_SLEEP": "30"}
        soak = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        wait_for(state / "runs" / "001.running.json")
        run = json.loads((state / "runs" / "001.running.json").read_text())["pid"]
        soak.send_signal(signal.SIGTERM)
        out, _ = soak.communicate(timeout=30)

    assert soak.returncode == 128 + signal.SIGTERM, out
    assert (
        "soak: stopped by SIGTERM; every finished run is kept, a run that was going is not" in out
    )
    assert not alive(run)
    assert sorted(p.name for p in (state / "runs").iterdir() if not p.name.endswith(".log")) == []


def test_a_stopped_soak_resumes_late_missing_the_runs_whose_time_passed(
    soak_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = soak_dir / ".staging-soak"
    with soak_stub("steady") as stub:
        command = soak_command("--duration", "6s", "--every", "2s", *soak_args(stub.url))
        first = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        wait_for(state / "runs" / "001.json")
        first.send_signal(signal.SIGTERM)
        stopped_out, _ = first.communicate(timeout=30)
        assert first.returncode == 128 + signal.SIGTERM, stopped_out
        assert "soak: stopped by SIGTERM; every finished run is kept" in stopped_out
        time.sleep(max(0.0, 4.2 - (time.time() - (state / "schedule.json").stat().st_mtime)))

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
        started = time.monotonic()
        timing = ["--duration", "4s", "--every", "2s", "--run-timeout", "2s"]
        code = main(["soak", *timing, *soak_args(stub.url)])

    out = capsys.readouterr().out
    assert code == 1, out
    assert time.monotonic() - started < 20
    assert "soak: run 1 of 2 NO-GO (0 passed) - soak so far NO-GO - next now" in out
    assert "soak: run 2 of 2 GO (1 passed) - soak so far NO-GO - last run done" in out
    assert (
        "  - failed runs: 1 of 2 (at most 0 allowed): run 1 NO-GO: stopped at the 2s time limit; "
        "the run was interrupted before it finished\n"
    ) in out
    assert not alive(int((soak_dir / "grandchild.pid").read_text()))
    assert (
        "time limit 2s reached: stopping" in (soak_dir / ".staging-soak/runs/001.log").read_text()
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


def test_p95_growing_faster_than_its_limit_is_no_go_with_the_numbers() -> None:
    runs = [
        run_facts(
            n + 1, n, latency={"GET /x": Latency(20, 0, p95), "GET /health": Latency(1, 0, 5)}
        )
        for n, p95 in enumerate((10.0, 20.0, 30.0))
    ]

    verdict = decide(runs, {}, Soak())

    assert not verdict.go
    assert verdict.reasons == (
        "p95 drift: GET /x: +100.0%/h over 3 runs (10.0 ms -> 30.0 ms), limit 20%/h",
    )
    assert verdict.notes == (
        "p95 drift not judged for 1 request name(s) with fewer than 20 requests in 3 runs "
        "(e.g. GET /health): a p95 of a few requests is only the slowest of them",
    )


def test_one_slow_run_among_steady_ones_is_a_small_trend_not_a_drift() -> None:
    p95s = (10.0, 10.0, 10.0, 10.0, 10.0, 18.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0)
    runs = [
        run_facts(n + 1, 2 * n, latency={"GET /x": Latency(20, 0, p)}) for n, p in enumerate(p95s)
    ]

    assert decide(runs, {}, Soak()).go


def test_p95_jitter_under_the_noise_floor_is_not_a_drift() -> None:
    runs = [
        run_facts(n + 1, n / 180, latency={"GET /x": Latency(20, 0, p95)})
        for n, p95 in enumerate((1.5, 1.8, 2.0))
    ]

    verdict = decide(runs, {}, Soak())

    assert verdict.go
    (trend,) = verdict.trends
    assert (trend.shown_rate, trend.ok) == ("+33.3% in 40s", True)
    assert not decide(runs, {}, Soak(p95_noise_ms=0.1)).go


def test_a_soak_shorter_than_an_hour_is_judged_on_its_whole_change() -> None:
    runs = [run_facts(n + 1, n / 60) for n in range(3)]
    mib = 1024 * 1024

    def verdict(*memory: float) -> SoakVerdict:
        samples = {n + 1: sample(n / 60, mem=value * mib) for n, value in enumerate(memory)}
        return decide(runs, samples, Soak(memory_series="mem"))

    assert verdict(100, 101.5, 103).go  # 3 % in 2 minutes, not 90 %/h
    assert verdict(100, 105, 110).reasons == (
        "memory: mem: +10.0% in 2m over 3 samples (100.0 MiB -> 110.0 MiB), limit 5%/h",
    )
    assert verdict(100, 100, 100).notes[-1] == (
        "the soak spans less than an hour: each trend is judged on its whole change against "
        "the limit per hour"
    )


def test_memory_growth_is_judged_over_all_samples_against_the_first() -> None:
    runs = [run_facts(n + 1, n) for n in range(3)]
    mib = 1024 * 1024
    samples = {n + 1: sample(n, mem=(100 + 10 * n) * mib) for n in range(3)}

    verdict = decide(runs, samples, Soak(memory_series="mem", memory_growth_per_hour=5))

    assert verdict.reasons == (
        "memory: mem: +10.0%/h over 3 samples (100.0 MiB -> 120.0 MiB), limit 5%/h",
    )


def test_cpu_use_is_derived_from_the_counter_and_a_restart_is_left_out() -> None:
    runs = [run_facts(n + 1, n) for n in range(4)]
    counter = (0.0, 360.0, 1080.0, 5.0)  # 10 %, then 20 % of a core; then a restart
    samples = {n + 1: sample(n, cpu=value) for n, value in enumerate(counter)}

    verdict = decide(runs, samples, Soak(cpu_series="cpu", cpu_growth_per_hour=5))

    assert verdict.reasons == (
        "cpu: use from cpu: +10.0 points/h over 2 intervals (10.0% -> 20.0% of one core), "
        "limit 5 points/h",
    )
    assert "cpu went back 1 time(s) (the target restarted?): those intervals are left out" in (
        verdict.notes
    )


def test_a_falling_pass_rate_is_no_go_even_above_its_threshold() -> None:
    runs = [
        run_facts(n + 1, n, pass_rates={"integration": rate})
        for n, rate in enumerate((100, 98, 96))
    ]

    verdict = decide(runs, {}, Soak())

    assert verdict.reasons == (
        "pass rate: integration: -2.0 points/h over 3 runs (100% -> 96%), "
        "limit a drop of 1 points/h",
    )


def test_the_error_rate_counts_the_requests_of_all_runs_together() -> None:
    runs = [
        run_facts(1, 0, latency={"GET /x": Latency(50, 0, 5.0)}),
        run_facts(2, 1, latency={"GET /x": Latency(50, 3, 5.0)}),
    ]

    verdict = decide(runs, {}, Soak())

    assert verdict.reasons == (
        "error rate: 3 of 100 requests failed across 2 runs (3.00%), limit 1%",
    )
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
    one = decide([run_facts(1, 0)], {}, Soak())
    assert one.go
    assert "1 run so far: no trend yet (a trend needs at least 2 runs)" in one.notes

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
