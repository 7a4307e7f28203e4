"""Run locust headless in a subprocess, show its progress, and always clean up after it.

Locust never runs in the pytest process (gevent's monkey-patching would break
httpx and pytest's threads). It runs in its own process group, bounded by a
hard deadline (duration + start-up grace); on the deadline, on Ctrl-C or on
any error the whole group is stopped (SIGTERM, then SIGKILL), so no locust
process or forked worker outlives the run. Then every text file it left in
its workdir (its log above all) is rewritten with the known secrets masked;
the headers reach it by environment, never on its command line.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import socket
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_staging import files, timing
from pytest_staging.load import locust_side
from pytest_staging.load.locust_side import OUTPUT_ENV, PARENT_ENV, PROGRESS_FILE, RESULT_FILE
from pytest_staging.load.plan import generated_locustfile
from pytest_staging.load.result import NUMBERS, LoadResult, failure_causes, task_errors
from pytest_staging.redaction import redactor

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pytest_staging.load.plan import LoadPlan

    Progress = Callable[[Mapping[str, Any], LoadPlan], None]
    """Called with each new progress point (elapsed, users, requests, failures, rps, p95)."""

LOG_FILE = "locust.log"
START_GRACE_S = 30.0
"""On top of the duration: locust's start-up, spawning, waiting for workers, stopping."""
STOP_GRACE_S = 10.0
_POLL_S = 0.25
_LOG_TAIL_LINES = 12
MAX_LOCUSTFILE_BYTES = files.MAX_SCHEMA_BYTES
"""A locustfile is Python source: larger than a schema file may be is a wrong path."""


class LoadError(Exception):
    """The load run could not produce a result; the message says why and what to do."""


def locust_available() -> bool:
    """Whether locust can be run, found without importing it."""
    return find_spec("locust") is not None


def side_files() -> list[Path]:
    """The files locust loads beside every locustfile (real files of the package): the TLS
    trust for users that choose none, then the reporter."""
    folder = Path(locust_side.__file__).parent
    return [folder / "trust.py", folder / "reporter.py"]


def locustfile_for(plan: LoadPlan, workdir: Path) -> Path:
    """The user's locustfile, or one generated from the manifest's tasks in `workdir`."""
    if plan.locustfile is not None:
        _check_locustfile(plan.locustfile)
        return plan.locustfile.resolve()  # locust runs in `workdir`
    generated = workdir / "staging_locustfile.py"
    generated.write_text(generated_locustfile(plan.tasks, plan.wait_ms), encoding="utf-8")
    return generated


def _check_locustfile(path: Path) -> None:
    """A locustfile that is missing, or not a regular file (a FIFO would hang locust's
    import, a device feed it endlessly), in one line that says what it is."""
    try:
        files.read_bytes(path, MAX_LOCUSTFILE_BYTES)  # refuses by kind without blocking
    except FileNotFoundError:
        raise LoadError(f"locustfile {path} does not exist") from None
    except files.READ_ERRORS as exc:
        raise LoadError(f"locustfile {path}: {files.unreadable(exc)}") from None


def locust_command(plan: LoadPlan, locustfile: Path, url: str) -> list[str]:
    """The headless locust command line for `plan` (no secret is ever on it)."""
    command = [
        sys.executable,
        "-m",
        "locust",
        "--locustfile",
        ",".join(str(path) for path in (locustfile, *side_files())),
        "--headless",
        "--users",
        str(plan.users),
        "--spawn-rate",
        f"{plan.rate:g}",
        "--run-time",
        f"{math.ceil(plan.duration_s)}s",  # locust reads whole seconds only
        "--host",
        url,
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "1",
    ]
    if plan.processes is not None:
        # The forked workers talk to their master over loopback on a port of their own, so
        # two runs at once do not collide and nothing listens beyond this machine.
        port = str(_free_loopback_port())
        command += ["--processes", str(plan.processes), "--master-bind-host", "127.0.0.1"]
        command += ["--master-bind-port", port, "--master-port", port]
    if plan.expect_workers is not None:
        command += [
            "--master",
            "--expect-workers",
            str(plan.expect_workers),
            "--expect-workers-max-wait",
            f"{START_GRACE_S / 2:g}",
            "--master-bind-host",
            plan.master_bind_host,
            "--master-bind-port",
            str(plan.master_bind_port),
        ]
    return command


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_load(
    plan: LoadPlan,
    url: str,
    workdir: Path,
    *,
    environ: Mapping[str, str] | None = None,
    on_progress: Progress | None = None,
    timeout_s: float | None = None,
) -> LoadResult:
    """Run `plan` against `url`; files (locustfile, log, results) go to `workdir`.

    `environ` adds variables for locust's side (headers, TLS trust) without
    putting them on the command line. Raises `LoadError` with the reason and
    the end of locust's log when no result came out.
    """
    if not locust_available():
        raise LoadError(
            "locust is not installed in this environment: pip install 'pytest-staging[load]'"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    for name in (PROGRESS_FILE, RESULT_FILE):
        (workdir / name).unlink(missing_ok=True)
    command = locust_command(plan, locustfile_for(plan, workdir), url)
    env = {**os.environ, **(environ or {}), OUTPUT_ENV: str(workdir), PARENT_ENV: str(os.getpid())}
    deadline_s = timeout_s if timeout_s is not None else plan.duration_s + START_GRACE_S
    log_path = workdir / LOG_FILE
    try:
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=workdir,
                start_new_session=True,
            )
            try:
                _wait(process, plan, workdir, deadline_s, on_progress)
            finally:
                _stop_group(process)
    finally:
        mask_secrets_in(workdir)
    return _result(plan, workdir, process.returncode)


def _wait(
    process: subprocess.Popen[bytes],
    plan: LoadPlan,
    workdir: Path,
    deadline_s: float,
    on_progress: Progress | None,
) -> None:
    start = timing.monotonic()
    last_seen: float | None = None
    while process.poll() is None:
        if timing.monotonic() - start > deadline_s:
            tail = _log_tail(workdir)
            raise LoadError(
                f"locust did not finish within {deadline_s:g}s (the run's duration is "
                f"{plan.duration_s:g}s); it was stopped.{' ' + tail if tail else ''}"
            )
        point = _read(workdir / PROGRESS_FILE)
        if on_progress is not None and point is not None and point.get("t") != last_seen:
            last_seen = point.get("t")
            on_progress(point, plan)
        timing.sleep(_POLL_S)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop locust and everything it forked: SIGTERM (locust saves its stats), then SIGKILL."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_GRACE_S)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # forked workers left behind, if any
    process.wait()


def mask_secrets_in(workdir: Path) -> list[Path]:
    """Rewrite every text file locust left in `workdir` (its log, the result files, whatever
    a locustfile wrote there) with the known secrets masked; returns the files rewritten.

    Locust prints failures and exceptions, which can carry a response body or a header.
    Binary files (with a NUL byte, such as bytecode) are left alone.
    """
    if not redactor.active:
        return []
    rewritten = []
    for path in sorted(workdir.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        masked = redactor.redact_bytes(data)
        if masked is data or b"\0" in data:
            continue
        temporary = path.with_name(f".{path.name}.masked")
        with contextlib.suppress(OSError):
            temporary.write_bytes(masked)
            temporary.replace(path)
            rewritten.append(path)
    return rewritten


def _read(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _log_tail(workdir: Path) -> str:
    try:
        lines = (workdir / LOG_FILE).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    tail = "\n".join(line for line in lines[-_LOG_TAIL_LINES:] if line.strip())
    return f"End of locust's log ({workdir / LOG_FILE}):\n{redactor.redact(tail)}" if tail else ""


def _result(plan: LoadPlan, workdir: Path, returncode: int) -> LoadResult:
    """The reporter's result; locust's exit code goes with it, to be judged
    (`thresholds.faults`)."""
    document = _read(workdir / RESULT_FILE)
    if document is None:
        tail = _log_tail(workdir)
        raise LoadError(
            f"locust exited with code {returncode} before it reported a result."
            f"{' ' + tail if tail else ''}"
        )
    return result_of(plan, document, returncode, workdir / LOG_FILE)


def result_of(
    plan: LoadPlan, document: Mapping[str, Any], exit_code: int = 0, log: Path | None = None
) -> LoadResult:
    """A `LoadResult` from the reporter's result file (see locust_side/reporter.py), the
    plan it ran and how locust exited."""
    numbers = {key: document[key] for key in NUMBERS}
    return LoadResult(
        name=plan.name,
        users=plan.users,
        spawn_rate=plan.rate,
        duration_s=plan.duration_s,
        processes=plan.processes,
        workers=plan.expect_workers,
        elapsed_s=float(document["elapsed_s"]),
        requests=int(numbers.pop("requests")),
        failures=int(numbers.pop("failures")),
        **{key: float(value or 0) for key, value in numbers.items()},
        endpoints=tuple(document.get("endpoints", ())),
        history=tuple(document.get("history", ())),
        causes=failure_causes(document.get("errors", ())),
        task_errors=task_errors(document.get("exceptions", ())),
        exit_code=exit_code,
        log=log,
    )
