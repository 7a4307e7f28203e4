"""The soak from start to verdict: schedule, wait, run, read the metrics, commit, judge, repeat.

`soak()` is what `pytest-staging soak` calls. It holds the state folder's lock for the
whole soak, resumes whatever the folder holds, and ends with the verdict on all runs (exit
code 0 for GO, 1 for NO-GO). Stopped by Ctrl-C or SIGTERM it stops the run going on (which
then does not count), keeps every finished run and exits with 128 + the signal's number.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_staging import timing
from pytest_staging.durations import shown
from pytest_staging.manifest.reader import load
from pytest_staging.manifest.records import ManifestError, Soak
from pytest_staging.redaction import redactor
from pytest_staging.report import saved
from pytest_staging.soak import pytest_args, runner, summary
from pytest_staging.soak.decision import SoakVerdict, decide, not_judged
from pytest_staging.soak.facts import RunFacts, from_run
from pytest_staging.soak.metrics import Sample, scrape
from pytest_staging.soak.records import RunRecord
from pytest_staging.soak.schedule import Schedule, ScheduleError, disagreements, new, next_run
from pytest_staging.soak.state import SUMMARY, SoakState, StateError
from pytest_staging.soak.trends import MIN_SPAN_S, SIGNIFICANCE, min_points

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime
    from pathlib import Path
    from typing import Any

    from pytest_staging.soak.state import Attempt

MIN_DEFAULT_RUN_TIMEOUT_S = 600.0
"""A run may take `--every`, and never less than this unless `--run-timeout` says so."""


class SoakError(Exception):
    """The soak cannot start or go on; the message says why and what to do."""


class Stopped(Exception):
    """The soak was asked to stop (SIGTERM); Ctrl-C arrives as KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclass(frozen=True)
class Request:
    """The command line of `pytest-staging soak`; None where an option was not given."""

    state_dir: Path
    duration_s: float | None = None
    every_s: float | None = None
    args: tuple[str, ...] = ()
    run_timeout_s: float | None = None
    restart: bool = False


def soak(request: Request, out: Callable[[str], object] = print) -> int:
    """Start or resume the soak `request` describes; its exit code."""
    refusals = pytest_args.refusals(request.args)
    if refusals:
        raise SoakError("; ".join(refusals))
    _hide_secrets()

    def say(line: str) -> None:
        out(redactor.redact(line))

    state = SoakState(request.state_dir)
    try:
        _check_new(state, request)
        with _stop_on_sigterm():
            if request.restart:
                _set_aside(state, say)
            with state.locked():
                saved = state.read_schedule()
                limits = _limits(saved.args if saved else request.args, say)
                schedule = _schedule(state, saved, request, say)
                return _Soak(state, schedule, limits, request, say).run()
    except (StateError, ScheduleError) as exc:
        raise SoakError(str(exc)) from None
    except (KeyboardInterrupt, Stopped) as exc:
        signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
        say(
            f"soak: stopped by {signal.Signals(signum).name}; every finished run is kept, a run "
            f"that was going is not. Resume: pytest-staging soak --state {request.state_dir}"
        )
        return 128 + signum


def _hide_secrets() -> None:
    """The runs' token and headers come from the environment: never show them here either."""
    values = [os.environ.get("PYTEST_STAGING_TOKEN", "")]
    for line in os.environ.get("PYTEST_STAGING_HEADER", "").splitlines():
        values.append(line.partition(":")[2].strip())
    redactor.register(value for value in values if value)


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise Stopped(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _set_aside(state: SoakState, out: Callable[[str], object]) -> None:
    if not state.root.exists():
        return
    with state.locked():
        aside = state.set_aside(timing.utc_now())
    out(f"soak: --restart: the earlier soak is kept in {aside}")


def _check_new(state: SoakState, request: Request) -> None:
    """A soak that cannot start is refused before its state folder is made."""
    if state.has_schedule() and not request.restart:
        return
    if request.duration_s is None or request.every_s is None:
        where = (
            "--restart starts a new one"
            if request.restart
            else f"--state {state.root} holds none to resume"
        )
        raise SoakError(f"--duration and --every are needed to start a soak; {where}")
    new(request.duration_s, request.every_s, request.args, timing.utc_now())


def _schedule(
    state: SoakState, saved: Schedule | None, request: Request, out: Callable[[str], object]
) -> Schedule:
    """The saved schedule, if the command line agrees with it, or a new one, saved."""
    if saved is None:
        if request.duration_s is None or request.every_s is None:  # checked by _check_new
            raise SoakError("--duration and --every are needed to start a soak")
        schedule = new(request.duration_s, request.every_s, request.args, timing.utc_now())
        state.write_schedule(schedule)
        out(
            f"soak: {schedule.runs} runs, every {shown(schedule.every_s)} for "
            f"{shown(schedule.duration_s)} (until {_clock(schedule.ends_at)}) - state {state.root}"
        )
        warning = _too_short(schedule)
        if warning:
            out(warning)
        return schedule
    differ = disagreements(saved, request.duration_s, request.every_s, request.args or None)
    if differ:
        raise SoakError(
            f"--state {state.root} holds a soak started {_clock(saved.started_at)} with other "
            f"settings: {'; '.join(differ)}. Resume it without them, or pass --restart to "
            "keep it aside and start a new soak"
        )
    out(f"soak: resuming the soak started {_clock(saved.started_at)} - state {state.root}")
    return saved


def _too_short(schedule: Schedule) -> str | None:
    """Said once, when a soak starts whose runs can never make a trend that is judged."""
    span_s = schedule.every_s * (schedule.runs - 1)
    needed = min_points(SIGNIFICANCE)
    if schedule.runs >= needed and span_s >= MIN_SPAN_S:
        return None
    return (
        f"soak: {schedule.runs} runs over {shown(span_s)}: a trend needs {needed} points over "
        f"at least {shown(MIN_SPAN_S)}, so trends will be shown but not judged (failed runs "
        "and the error rate are)"
    )


def _limits(args: tuple[str, ...], out: Callable[[str], object]) -> Soak:
    path = pytest_args.manifest_path(args)
    if path is None:
        out("soak: no manifest: the default [soak] limits apply")
        return Soak()
    try:
        limits = load(path).soak
    except ManifestError as exc:
        raise SoakError(f"invalid manifest: {exc}") from None
    series = ", ".join(limits.series) or "none declared"
    out(f"soak: limits from {path} ([soak]); metric series: {series}")
    return limits


def _clock(at: datetime) -> str:
    """Local time of day; with the date when it is not today."""
    local = at.astimezone()
    if local.date() == timing.utc_now().astimezone().date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M:%S")


class _Soak:
    """One soak in progress: what is known so far, and the next step."""

    def __init__(
        self,
        state: SoakState,
        schedule: Schedule,
        limits: Soak,
        request: Request,
        out: Callable[[str], object],
    ) -> None:
        self.state, self.schedule, self.limits, self.out = state, schedule, limits, out
        self.timeout_s = request.run_timeout_s or max(schedule.every_s, MIN_DEFAULT_RUN_TIMEOUT_S)
        self.verify = pytest_args.tls_verify(schedule.args)
        self.records: dict[int, RunRecord] = {}
        self.facts: dict[int, RunFacts] = {}
        self.samples: dict[int, Sample] = {}

    def run(self) -> int:
        self._load()
        while (step := next_run(self.schedule, self.records, timing.utc_now())) is not None:
            for missed in step.missed:
                self._commit(RunRecord(missed, "missed", self.schedule.planned(missed)), None, None)
            self._announce(step.run, step.missed)
            timing.sleep(max(0.0, (step.at - timing.utc_now()).total_seconds()))
            self._one(step.run)
        verdict = self._verdict(complete=True)
        self.out(f"STAGING SOAK: {verdict.label} ({self._count()}) - summary {self._html()}")
        self.out("\n".join(f"  - {reason}" for reason in verdict.reasons) or "  every rule holds")
        for note in not_judged(verdict.trends):
            self.out(f"  {note}")
        return 0 if verdict.go else 1

    def _load(self) -> None:
        """What the state folder holds: finished and missed runs; leftovers are cleared."""
        for leftover in self.state.leftovers():
            done = runner.stop_leftover(leftover.pid, leftover.token)
            if done:
                self.out(f"soak: run {leftover.run}: {done}")
            leftover.marker.unlink(missing_ok=True)
        self.records = self.state.records()
        self.state.discard_unfinished(set(self.records))
        for record in self.records.values():
            self._remember(record, self.state.metrics(record.run))
        if self.records:
            self.out(f"soak: kept from before: {self._count()}")

    def _remember(self, record: RunRecord, metrics: Any) -> None:
        self.records[record.run] = record
        report = None
        if record.has_report:
            try:
                report = saved.read(self.state.file(record.run, ".json"))
            except saved.ReportFileError as exc:
                record = dataclasses.replace(record, problem=str(exc))
        self.facts[record.run] = from_run(record, report)
        sample = Sample.from_json(metrics) if metrics is not None else None
        if sample is not None:
            self.samples[record.run] = sample

    def _announce(self, run: int, missed: tuple[int, ...]) -> None:
        planned = self.schedule.planned(run)
        late = (timing.utc_now() - planned).total_seconds()
        if missed:
            listed = ", ".join(str(m) for m in missed)
            self.out(
                f"soak: run(s) {listed} missed: their time passed while the soak was stopped or "
                f"a run overran; making run {run} of {self.schedule.runs} now"
            )
        elif late > 1:
            self.out(
                f"soak: run {run} of {self.schedule.runs} was due {shown(late)} ago "
                f"({_clock(planned)}): making it now"
            )

    def _one(self, run: int) -> None:
        attempt = self.state.attempt(run)
        try:
            outcome = runner.run(
                self.schedule.args,
                attempt.report,
                attempt.log,
                self.timeout_s,
                on_start=lambda pid: self.state.mark_running(attempt, pid),
            )
        except BaseException:  # stopped: the run's processes are gone, the run does not count
            self.state.file(run, ".running.json").unlink(missing_ok=True)
            attempt.report.unlink(missing_ok=True)  # its interrupted report; the log stays
            raise
        report, problem = self._report(attempt, outcome)
        record = RunRecord(
            run=run,
            status="finished",
            planned_at=self.schedule.planned(run),
            started_at=outcome.started_at,
            finished_at=outcome.finished_at,
            exit_code=outcome.exit_code,
            timed_out=outcome.timed_out,
            has_report=report is not None,
            problem=problem,
            attempt=attempt.token,
        )
        url = report["target"]["url"] if report else self._last_url()
        sample = self._scrape(url) if self.limits.series else None
        self._commit(record, attempt, sample)
        self.out(self._progress(run))

    def _report(self, attempt: Attempt, outcome: runner.RunOutcome) -> tuple[Any, str | None]:
        limit = f"stopped at the {shown(self.timeout_s)} time limit" if outcome.timed_out else None
        if not attempt.report.exists():
            why = (
                f"no report (exit code {outcome.exit_code}; pytest writes one when a target is "
                "configured: --staging-url, PYTEST_STAGING_URL, --staging-demo)"
            )
            return None, f"{limit}; {why}" if limit else why
        try:
            return saved.read(attempt.report), limit
        except saved.ReportFileError as exc:
            why = f"no valid report (exit code {outcome.exit_code}): {exc}"
            return None, f"{limit}; {why}" if limit else why

    def _last_url(self) -> str | None:
        urls = [f.target_url for _, f in sorted(self.facts.items()) if f.target_url]
        return urls[-1] if urls else None

    def _scrape(self, url: str | None) -> Sample:
        if not url:
            problem = "the target's URL is not known: no run has left a report yet"
            return Sample(timing.utc_now(), "", problems=(problem,))
        return scrape(url.rstrip("/") + self.limits.metrics_path, self.limits.series, self.verify)

    def _commit(self, record: RunRecord, attempt: Attempt | None, sample: Sample | None) -> None:
        metrics = sample.to_json() if sample is not None else None
        self.state.commit(record, attempt, metrics)
        self._remember(record, metrics)

    def _verdict(self, *, complete: bool) -> SoakVerdict:
        runs = [self.facts[run] for run in sorted(self.facts)]
        verdict = decide(runs, self.samples, self.limits)
        view = summary.SoakView(
            self.state.root, self.schedule, runs, self.samples, verdict, complete
        )
        summary.write(view)
        return verdict

    def _progress(self, run: int) -> str:
        facts = self.facts[run]
        done = len(self.records) >= self.schedule.runs
        verdict = self._verdict(complete=done)
        line = f"soak: run {run} of {self.schedule.runs} {facts.label} ({self._run_counts(facts)})"
        line += f" - soak so far {verdict.label}"
        step = next_run(self.schedule, self.records, timing.utc_now())
        if step is None:
            return f"{line} - last run done"
        wait = (step.at - timing.utc_now()).total_seconds()
        when = "now" if wait < 0.5 else f"in {shown(wait)} at {_clock(step.at)}"
        return f"{line} - next {when} - state {self.state.root}"

    @staticmethod
    def _run_counts(facts: RunFacts) -> str:
        if facts.verdict is None:
            return facts.why
        counts = ((facts.passed, "passed"), (facts.failed, "failed"), (facts.errors, "errors"))
        return ", ".join(f"{n} {what}" for n, what in counts if n or what == "passed")

    def _count(self) -> str:
        finished = [f for f in self.facts.values() if f.status == "finished"]
        failed = sum(1 for f in finished if f.failed_run)
        missed = len(self.facts) - len(finished)
        text = f"{len(finished)} of {self.schedule.runs} runs finished, {failed} failed"
        return f"{text}, {missed} missed" if missed else text

    def _html(self) -> Path:
        return self.state.root / f"{SUMMARY}.html"
