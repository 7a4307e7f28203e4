"""One run of the gate: `python -m pytest <args> --staging-report=FILE` in a child process.

The child leads its own process group (so its xdist workers and locust processes are in
it) and is stopped through that group, by its process id, never by a name. A run that
overruns its time limit is asked to stop as Ctrl-C would (SIGINT: pytest still writes its
report, marked interrupted), then terminated, then killed. A soak that is itself stopped
during a run stops the group at once and re-raises: that run does not count.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_staging import timing

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

GRACE_S = (10.0, 5.0)
"""After the time limit: wait this long after SIGINT, then after SIGTERM, then SIGKILL."""
STOP_GRACE_S = (2.0, 2.0)
"""When the soak itself is stopped, the run is abandoned: shorter waits."""
_ESCALATION = (signal.SIGINT, signal.SIGTERM)
LEFTOVER_GRACE_S = 5.0
"""A run left going by a killed soak has this long after SIGTERM before SIGKILL."""


@dataclass(frozen=True)
class RunOutcome:
    exit_code: int
    started_at: datetime
    finished_at: datetime
    timed_out: bool


def command(args: Sequence[str], report: Path) -> list[str]:
    return [sys.executable, "-m", "pytest", *args, f"--staging-report={report}"]


def run(
    args: Sequence[str],
    report: Path,
    log: Path,
    timeout_s: float,
    on_start: Callable[[int], object] = lambda pid: None,
) -> RunOutcome:
    """Run pytest until it ends or `timeout_s` passes; its output goes to `log`."""
    started = timing.utc_now()
    with log.open("wb") as output:
        process = subprocess.Popen(
            command(args, report),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            on_start(process.pid)
            try:
                code = process.wait(timeout_s)
                timed_out = False
            except subprocess.TimeoutExpired:
                note = f"\n[pytest-staging soak] time limit {timeout_s:g}s reached: stopping\n"
                output.write(note.encode())
                output.flush()
                code = _stop(process, GRACE_S)
                timed_out = True
        except BaseException:
            try:
                _stop(process, STOP_GRACE_S)
            finally:  # a second Ctrl-C while stopping must not leave the run going
                _signal_group(process.pid, signal.SIGKILL)
                process.wait()
            raise
        finally:  # what the run started and left behind (a locust, a server) goes too
            _signal_group(process.pid, signal.SIGKILL)
    return RunOutcome(code, started, timing.utc_now(), timed_out)


def _stop(process: subprocess.Popen[bytes], grace: tuple[float, float]) -> int:
    """Stop the run's process group, politely first; the run's exit code."""
    for sig, wait_s in zip(_ESCALATION, grace, strict=True):
        _signal_group(process.pid, sig)
        try:
            return process.wait(wait_s)
        except subprocess.TimeoutExpired:
            continue
    _signal_group(process.pid, signal.SIGKILL)
    return process.wait()


def _signal_group(pid: int, sig: int) -> None:
    """Signal the group led by `pid` (the run and every process it started)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def stop_leftover(pid: int, token: str) -> str | None:
    """Stop a run a killed soak left going, if process `pid` is still that run: its command
    line names the attempt's report file, which carries the unique `token`. Returns what was
    done, or None when there was nothing to stop."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        leads_its_group = os.getpgid(pid) == pid
    except OSError:
        return None  # gone (or no /proc to tell it is ours: then it is left alone)
    if token.encode() not in cmdline or not leads_its_group:
        return None
    _signal_group(pid, signal.SIGTERM)
    if _ends_within(pid, LEFTOVER_GRACE_S):
        return f"stopped the run left going by the earlier soak (process group {pid})"
    _signal_group(pid, signal.SIGKILL)
    return f"killed the run left going by the earlier soak (process group {pid})"


def _ends_within(pid: int, seconds: float) -> bool:
    """Whether process `pid` ends within `seconds`. It is not our child, so it cannot be
    waited for; its pidfd becomes readable when it ends (Linux 5.3 and later: on an older
    kernel, False at once, and the run is killed without a grace period)."""
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    try:
        readable, _, _ = select.select([handle], [], [], seconds)
    finally:
        os.close(handle)
    return bool(readable)
