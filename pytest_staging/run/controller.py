"""The controller's part of a gated run: readiness, counting, the verdict and its reports.

Registered only on the controller (never on an xdist worker) and only when a
target is configured. Readiness runs once, in `pytest_collection`, before any
test; the verdict is computed once, in the outermost `pytest_sessionfinish`,
before pytest-html and junitxml write their files; the table is printed
after pytest's own summary so the run ends with the verdict.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import signal
import sys
import threading
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from pytest_staging import gate, timing
from pytest_staging.report import junit, terminal
from pytest_staging.report.finished_run import FinishedRun
from pytest_staging.run import destructive
from pytest_staging.run.test_records import RecordCollector, categories_of
from pytest_staging.settings.resolution import DESELECTED_KEY

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator, Mapping
    from datetime import datetime
    from pathlib import Path
    from types import FrameType
    from typing import Any

    from pytest_staging.http.readiness import Attempt, Readiness
    from pytest_staging.http.target import StagingTarget
    from pytest_staging.settings.resolution import StagingSettings

CONTROLLER_PLUGIN = "staging-controller"
INSECURE_WARNING = "WARNING: --staging-insecure: TLS certificates are NOT verified"


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """The verdict and its report allocate tens of thousands of acyclic objects at once,
    while pytest still holds every test report: each automatic garbage collection in
    between would walk them all (about 20 µs per test at 10 000 tests)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class GateController:
    """Counts every test report on the controller and turns the run into a verdict."""

    def __init__(
        self, config: pytest.Config, settings: StagingSettings, target: StagingTarget
    ) -> None:
        self._config = config
        self._settings = settings
        self._target = target
        self._collector = RecordCollector()
        self._collection_errors = 0
        self._readiness: Readiness | None = None
        self._tls_expiry: datetime | None = None
        self._withheld: dict[str, str] = {}
        self._deciding = False
        self._expected: set[str] = set()
        self._runs = 0
        """Test runs to come in all: one per test, or one per test and worker (--dist each)."""
        self._planned: Counter[str] | None = None
        """Collected tests per category, without xdist (under xdist only the workers know)."""
        self._session: pytest.Session | None = None
        self._fail_fast: str | None = None
        """Why --staging-fail-fast stopped the run, once it did."""
        self._keyboard_interrupt = False
        self._usage_error: str | None = None
        """pytest's usage error after collection (`--strict-config`), once there was one."""
        self._started = False
        self._started_at = timing.utc_now()
        self._start = timing.monotonic()
        self.finished_run: FinishedRun | None = None

    @property
    def target(self) -> StagingTarget:
        return self._target

    def _write_line(self, text: str, **markup: bool) -> None:
        reporter = self._config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(text, **markup)

    def pytest_report_header(self) -> list[str]:
        thresholds = " ".join(
            f"{name}={gate.percent(value)}" for name, value in self._settings.thresholds().items()
        )
        lines = [f"staging target: {self._target.url} (environment {self._target.environment})"]
        if self._settings.max_error_rate is not None:
            thresholds += f" max_error_rate={gate.percent(self._settings.max_error_rate)}"
        lines.append(f"staging gate thresholds: {thresholds}")
        lines.extend(_selection_lines(self._settings))
        if self._settings.insecure:
            lines.append(INSECURE_WARNING)
        why = destructive.withheld_why(self._settings)
        lines.append(f"staging destructive tests: {'withheld: ' + why if why else 'allowed'}")
        return lines

    def pytest_report_collectionfinish(self, items: list[pytest.Item]) -> list[str]:
        """How many tests the guard withheld, right under "collected N items" (without
        xdist; under xdist the count closes the run)."""
        withheld = sum(1 for item in items if destructive.withheld_reason_of(item) is not None)
        lines = [f"staging: {withheld} destructive test(s) withheld"] if withheld else []
        deselected = self._config.stash.get(DESELECTED_KEY, 0)
        if deselected:
            lines.append(
                f"staging: partial run: {deselected} of {deselected + len(items)} tests deselected"
            )
        return lines

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> Generator[None]:
        """Readiness before any test is collected. pytest checks the configuration
        (`--strict-config`) once collection is done: its usage error becomes the verdict's
        reason instead of "no test ran"."""
        option = self._config.option
        if not (option.collectonly or option.setuponly or option.setupplan):
            self._get_ready(session)
        try:
            return (yield)
        except pytest.UsageError as error:
            self._usage_error = str(error).strip()
            raise

    def _get_ready(self, session: pytest.Session) -> None:
        self._started = True
        self._write_provisional_report()
        self._readiness = self._wait_until_ready()
        if not self._readiness.ready:
            raise session.Interrupted(self._readiness.reason or "target not ready")
        from pytest_staging.http.tls import audited_expiry

        self._tls_expiry = audited_expiry(self._target.url, self._settings)

    def _wait_until_ready(self) -> Readiness:
        from pytest_staging.http.client import build_client
        from pytest_staging.http.readiness import http_probe, wait_until_ready
        from pytest_staging.phase_log import PhaseLog

        check = self._settings.manifest.health
        settings = self._settings
        with build_client(settings, self._target, PhaseLog()) as client:
            return wait_until_ready(
                http_probe(client, check),
                check,
                wait_s=settings.wait,
                timeout_s=settings.timeout,
                expect_version=settings.expect_version,
                on_attempt=self._show_attempt,
            )

    def _show_attempt(self, attempt: Attempt, problem: str | None) -> None:
        budget = f" of {self._settings.wait:g}s" if self._settings.wait else ""
        level = "ready" if self._settings.wait else "the target answers"
        path = self._settings.manifest.health.path
        state = f"GET {path} {attempt.describe()}: {level}" if problem is None else problem
        self._write_line(
            f"staging readiness: attempt {attempt.number} at {attempt.elapsed_s:.1f}s{budget}: "
            f"{state}"
        )

    def _write_provisional_report(self) -> None:
        """A killed run must never leave an earlier GO behind: NO-GO until the gate decides."""
        from pytest_staging.report.finished_run import finished_early

        self._write_report(
            finished_early(
                "the run did not finish: it was stopped before the gate could decide",
                exit_code=gate.ExitCode.NO_GO,
                target_url=self._target.url,
                environment=self._target.environment,
                interrupted=True,
            )
        )

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.expect(item.nodeid for item in session.items)
        categories = self._settings.categories
        self._planned = Counter(
            name for item in session.items for name in categories_of(item, categories)
        )

    def expect(self, nodeids: Iterable[str], *, every_worker: bool = False) -> None:
        """Tests that must report a result (from collection, or from each xdist worker;
        with `every_worker`, as under `--dist each`, each worker runs each of them)."""
        ids = list(nodeids)
        self._expected.update(ids)
        self._runs = self._runs + len(ids) if every_worker else len(self._expected)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """Ctrl-C, SIGTERM, `pytest.exit()`; not xdist's own interruption that carries out
        --staging-fail-fast's stop (it is a KeyboardInterrupt too)."""
        if self._fail_fast is None or str(excinfo.value) != _stop_message(self._fail_fast):
            self._keyboard_interrupt = True

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """SIGTERM (what CI systems send to cancel a job) stops the run the way Ctrl-C does,
        so every report is written, NO-GO and interrupted; a second one kills at once."""
        self._session = session
        if threading.current_thread() is not threading.main_thread():
            return

        def interrupt(signum: int, frame: FrameType | None) -> None:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if not self._deciding:  # the reports are being written: let them finish
                raise KeyboardInterrupt(f"stopped by signal {signal.Signals(signum).name}")

        previous = signal.signal(signal.SIGTERM, interrupt)

        def restore() -> None:
            signal.signal(signal.SIGTERM, previous)

        self._config.add_cleanup(restore)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self._collection_errors += 1

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._collector.add(report)
        why = destructive.withheld_reason_in(report)
        if why is not None:
            self._withheld[report.nodeid] = why
        if report.failed and self._settings.fail_fast and self._fail_fast is None:
            self._stop_if_certainly_no_go()

    def _stop_if_certainly_no_go(self) -> None:
        """--staging-fail-fast, after each failure: stop once no outcome of the tests still to
        run can make a GO. Only failures are checked (the check builds the snapshot so far):
        a pass never makes the verdict certain where the failure before it did not, but
        under xdist it may, and the run then stops at its next failure."""
        done = self._collector.records(unfinished=False)
        snapshot = self._gate_snapshot(done)
        reason = gate.certainly_no_go(snapshot, self._remaining(done))
        if reason is None:
            return
        self._fail_fast = reason
        dsession = self._config.pluginmanager.get_plugin("dsession")
        if dsession is not None:  # xdist's controller loop honours only its own attribute
            dsession.shouldstop = _stop_message(reason)
        elif self._session is not None and not self._session.shouldfail:
            self._session.shouldfail = _stop_message(reason)

    def _remaining(self, done: tuple[gate.TestRecord, ...]) -> dict[str, int]:
        """Tests still to run per category: exact from the collected items without xdist.
        Under xdist only the workers know the items, so each test still to run counts in
        every category: the stop can come later, never too early."""
        if self._planned is None:
            left = max(self._runs - len(done), 0)
            names = (*self._settings.categories, gate.OTHER, *self._settings.thresholds())
            return dict.fromkeys(names, left)
        finished = Counter(name for test in done for name in test.categories)
        return {name: planned - finished[name] for name, planned in self._planned.items()}

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> Generator[None]:
        self._deciding = True
        status = int(exitstatus)
        if (
            status == pytest.ExitCode.INTERRUPTED
            and self._fail_fast
            and not self._keyboard_interrupt
        ):
            status = pytest.ExitCode.TESTS_FAILED  # xdist's stop for --staging-fail-fast
        if self._started:
            with _collection_paused():
                self.finished_run = self._usage_outcome() or self._decide(session, status)
                self._write_report(self.finished_run)
            self._write_summaries(self.finished_run)
            junit.record(self._config, self.finished_run)
            session.exitstatus = self.finished_run.exit_code
        result = yield
        if self.finished_run is not None:
            # over any plugin that changed it since
            session.exitstatus = self.finished_run.exit_code
            self._print(self.finished_run)
        return result

    def _usage_outcome(self) -> FinishedRun | None:
        """The usage error pytest found after collection, as the NO-GO a usage error at
        start gives (see plugin._report_usage_error)."""
        if self._usage_error is None:
            return None
        from pytest_staging.report.finished_run import finished_early

        return finished_early(
            f"usage error: {self._usage_error}",
            exit_code=pytest.ExitCode.USAGE_ERROR,
            target_url=self._target.url,
            environment=self._target.environment,
        )

    def _gate_snapshot(self, tests: tuple[gate.TestRecord, ...]) -> gate.RunSnapshot:
        """The tests against the gate's settings: what the fail-fast check judges, and what
        the final snapshot adds the run's facts to."""
        settings = self._settings
        return gate.RunSnapshot(
            tests=tests,
            thresholds=settings.thresholds(),
            explicit=frozenset(settings.gates),
            min_tests=settings.manifest.min_tests,
            categories=settings.categories,
            flaky_fails=settings.flaky_fails,
            max_error_rate=settings.max_error_rate,
            allow_partial=settings.allow_partial,
        )

    def _snapshot(
        self, session: pytest.Session, exitstatus: int, latency: Mapping[str, Mapping[str, Any]]
    ) -> gate.RunSnapshot:
        stopped = session.shouldfail or session.shouldstop
        readiness = self._readiness
        not_ready = readiness.reason if readiness and not readiness.ready else None
        broken_off = self._keyboard_interrupt or exitstatus in {
            pytest.ExitCode.INTERRUPTED,
            pytest.ExitCode.INTERNAL_ERROR,
        }
        selection = self._settings.selection
        requests, failed_requests = self._collector.request_totals()
        return dataclasses.replace(
            self._gate_snapshot(self._collector.records(unfinished=not broken_off)),
            collection_errors=self._collection_errors,
            interrupted=broken_off and not self._collection_errors and not not_ready,
            never_reported=len(self._expected - self._collector.reported()),
            stopped_early=str(stopped) if stopped else None,
            not_ready=not_ready,
            regressions=self._regressions(latency),
            requests=requests,
            failed_requests=failed_requests,
            deselected=self._config.stash.get(DESELECTED_KEY, 0),
            selection=selection.narrowing,
            rerun_selection=selection.rerun,
            fail_fast=self._fail_fast,
        )

    def _regressions(self, latency: Mapping[str, Mapping[str, Any]]) -> tuple[str, ...]:
        baseline = self._settings.baseline
        if baseline is None:
            return ()
        return baseline.regressions(latency, self._settings.baseline_tolerance)

    def _decide(self, session: pytest.Session, exitstatus: int) -> FinishedRun:
        from pytest_staging.performance import percentiles

        summary = percentiles.summarize(
            self._collector.requests(), self._settings.manifest.budgets()
        )
        snapshot = self._snapshot(session, exitstatus, summary)
        verdict = gate.decide(snapshot)
        return FinishedRun(
            verdict=verdict,
            snapshot=snapshot,
            exit_code=gate.exit_code(verdict, snapshot, exitstatus),
            target_url=self._target.url,
            environment=self._target.environment,
            service=self._settings.manifest.service,
            started_at=self._started_at,
            duration_s=timing.monotonic() - self._start,
            readiness=self._readiness,
            latency=summary,
            load=tuple(self._collector.load_runs()),
            requests_by_test=self._collector.request_counts(),
            insecure=self._settings.insecure,
            tls_expiry=self._tls_expiry,
            withheld=tuple(self._withheld.items()),
        )

    def _write_report(self, outcome: FinishedRun) -> None:
        from pytest_staging.report import json_report

        for problem in json_report.publish(outcome, self._settings.report_path):
            self._write_line(problem, red=True)

    def _write_summaries(self, outcome: FinishedRun) -> None:
        from pytest_staging.report import markdown

        for problem in markdown.publish(outcome, self._settings.summary_md_path):
            self._write_line(problem, red=True)

    def _print(self, outcome: FinishedRun) -> None:
        reporter = self._config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        go = outcome.verdict.go
        reporter.write_sep("=", terminal.title(outcome), green=go, red=not go)
        if self._config.get_verbosity() >= 0:
            for line in terminal.table_lines(outcome):
                reporter.write_line(line)
            for line in [*terminal.slowest_lines(outcome), *terminal.load_lines(outcome)]:
                reporter.write_line(line)
        for line in [*terminal.withheld_lines(outcome), *terminal.note_lines(outcome)]:
            reporter.write_line(line, yellow=True)
        if outcome.insecure:
            reporter.write_line(INSECURE_WARNING, red=True, bold=True)
        for number, line in enumerate(terminal.verdict_lines(outcome)):
            reporter.write_line(line, bold=number == 0, green=go, red=not go)


NO_TEST_RUN_MODES = (
    ("collectonly", "--collect-only"),
    ("setuponly", "--setup-only"),
    ("setupplan", "--setup-plan"),
)
"""pytest's options that run no test body: such a run has no gate and keeps its exit status."""
EARLY_NO_GO = (
    "the gate did not start: pytest stopped first (see its error, e.g. a conftest that failed "
    "to import or an unknown option), or the run was killed"
)
"""The reason of the NO-GO a gated run writes before its first conftest is imported."""


class VerdictGuard:
    """A gated run from the moment its options are known until pytest returns.

    Registered before the first conftest is imported, it replaces the reports with a NO-GO
    at once, so a run that pytest ends before the gate starts (a conftest that fails to
    import, an unknown option) never leaves an earlier GO behind. When pytest returns
    without the gate's verdict (a conftest's `pytest.exit()` in `pytest_configure` or
    `pytest_sessionstart`, `--collect-only`), the reports say why, and the run never exits
    0, except in the modes that run no test body (`NO_TEST_RUN_MODES`), which keep theirs.
    """

    def __init__(self, report: Path | None, summary: Path | None) -> None:
        self._report = report
        self._summary = summary
        self._exit: str | None = None
        """The message of the `pytest.exit()` that ended the run, if one did."""

    def write(
        self,
        reason: str,
        exit_code: int,
        environ: Mapping[str, str],
        target: StagingTarget | None = None,
    ) -> None:
        """The NO-GO reports; `environ` without GitHub's variable writes no job summary."""
        from pytest_staging.report import json_report, markdown
        from pytest_staging.report.finished_run import finished_early

        outcome = finished_early(
            reason,
            exit_code=exit_code,
            target_url=target.url if target else None,
            environment=target.environment if target else "unknown",
            interrupted=True,
        )
        problems = [
            *markdown.publish(outcome, self._summary, environ),
            *json_report.publish(outcome, self._report),
        ]
        for problem in problems:
            sys.stderr.write(f"{problem}\n")

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        if isinstance(excinfo.value, pytest.exit.Exception):
            self._exit = excinfo.value.msg

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_cmdline_main(self, config: pytest.Config) -> Generator[None, int, int]:
        status = yield
        controller = config.pluginmanager.get_plugin(CONTROLLER_PLUGIN)
        if controller is not None and controller.finished_run is not None:
            return status
        target = controller.target if controller is not None else None
        mode = next((flag for name, flag in NO_TEST_RUN_MODES if config.getoption(name)), None)
        if mode is not None:
            reason = f"{mode} runs no test: the gate did not decide"
            self.write(reason, gate.ExitCode.NO_GO, {}, target)
            return status
        code = int(status) or gate.ExitCode.NO_GO
        if self._exit is not None:
            reason = f"pytest.exit() ended the run before the gate could decide: {self._exit}"
        else:
            reason = f"the run ended before the gate could decide (pytest exit status {status})"
        self.write(reason, code, os.environ, target)
        return code


def _stop_message(reason: str) -> str:
    """What pytest (or xdist) shows when --staging-fail-fast stops the run."""
    return f"--staging-fail-fast: {reason}"


def _selection_lines(settings: StagingSettings) -> list[str]:
    """The header's word on how the user narrowed the run, and what that means for the gate."""
    selection = settings.selection
    if not selection.narrowing:
        return []
    shown = " ".join(selection.narrowing)
    if selection.rerun:
        meaning = f"{selection.rerun} chooses the tests by an earlier run's results: no GO"
    elif settings.allow_partial:
        meaning = "a partial run is noted (allow_partial = false makes it NO-GO)"
    else:
        meaning = "a partial run is NO-GO (allow_partial = false)"
    return [f"staging selection: {shown}: {meaning}"]
