"""The controller's part of a gated run: readiness, counting, the verdict and its reports.

Registered only on the controller (never on an xdist worker) and only when a
target is configured. Readiness runs once, in `pytest_collection`, before any
test; the verdict is computed once, in the outermost `pytest_sessionfinish`,
before pytest-html and junitxml write their files; the table is printed
after pytest's own summary so the run ends with the verdict. The header lines
are `header`'s, the NO-GO written before the verdict is `verdict_guard`'s, and
each test's record comes from `test_records`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import signal
import threading
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from pytest_staging import gate, timing
from pytest_staging.http.client import build_client
from pytest_staging.http.readiness import http_probe, wait_until_ready
from pytest_staging.http.tls import audited_expiry
from pytest_staging.performance import percentiles
from pytest_staging.phase_log import PhaseLog
from pytest_staging.report import json_report, junit, markdown, terminal
from pytest_staging.report.finished_run import FinishedRun, finished_early
from pytest_staging.run import destructive, header
from pytest_staging.run.test_records import RecordCollector, categories_of
from pytest_staging.run.verdict_guard import CONTROLLER_PLUGIN, publish_no_go
from pytest_staging.settings.resolution import DESELECTED_KEY

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator, Mapping
    from datetime import datetime
    from types import FrameType
    from typing import Any

    from pytest_staging.http.readiness import Attempt, Readiness
    from pytest_staging.http.target import StagingTarget
    from pytest_staging.report.baseline import Baseline
    from pytest_staging.settings.resolution import StagingSettings

__all__ = ["CONTROLLER_PLUGIN", "GateController"]


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
        self,
        config: pytest.Config,
        settings: StagingSettings,
        target: StagingTarget,
        baseline: Baseline | None = None,
    ) -> None:
        self._config = config
        self._settings = settings
        self._target = target
        self._baseline = baseline
        """--staging-baseline's report, read on the controller (`baseline.from_option`)."""
        self._collector = RecordCollector()
        self._collection_errors = 0
        self._readiness: Readiness | None = None
        self._tls_expiry: datetime | None = None
        self._withheld: dict[str, str] = {}
        self._deciding = False
        self._expected: set[str] = set()
        self._test_runs = 0
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
        return header.header_lines(self._settings, self._target)

    def pytest_report_collectionfinish(self, items: list[pytest.Item]) -> list[str]:
        """How many tests the guard withheld, right under "collected N items" (without
        xdist; under xdist the count closes the run)."""
        return header.collection_lines(items, self._config.stash.get(DESELECTED_KEY, 0))

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
        self._tls_expiry = audited_expiry(self._target.url, self._settings)

    def _wait_until_ready(self) -> Readiness:
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
        problems = publish_no_go(
            "the run did not finish: it was stopped before the gate could decide",
            gate.ExitCode.NO_GO,
            report=self._settings.report_path,
            target=self._target,
        )
        for problem in problems:
            self._write_line(problem, red=True)

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
        self._test_runs = self._test_runs + len(ids) if every_worker else len(self._expected)

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
            left = max(self._test_runs - len(done), 0)
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
                self.finished_run = self._usage_error_run() or self._decide(session, status)
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

    def _usage_error_run(self) -> FinishedRun | None:
        """The usage error pytest found after collection, as the NO-GO a usage error at
        start gives (see plugin._report_usage_error)."""
        if self._usage_error is None:
            return None
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
        if self._baseline is None:
            return ()
        return self._baseline.regressions(latency, self._settings.baseline_tolerance)

    def _decide(self, session: pytest.Session, exitstatus: int) -> FinishedRun:
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

    def _write_report(self, run: FinishedRun) -> None:
        for problem in json_report.publish(run, self._settings.report_path):
            self._write_line(problem, red=True)

    def _write_summaries(self, run: FinishedRun) -> None:
        for problem in markdown.publish(run, self._settings.summary_md_path):
            self._write_line(problem, red=True)

    def _print(self, run: FinishedRun) -> None:
        reporter = self._config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        go = run.verdict.go
        reporter.write_sep("=", terminal.title(run), green=go, red=not go)
        if self._config.get_verbosity() >= 0:
            for line in terminal.table_lines(run):
                reporter.write_line(line)
            for line in [*terminal.slowest_lines(run), *terminal.load_lines(run)]:
                reporter.write_line(line)
        for line in [*terminal.withheld_lines(run), *terminal.note_lines(run)]:
            reporter.write_line(line, yellow=True)
        if run.insecure:
            reporter.write_line(terminal.INSECURE_WARNING, red=True, bold=True)
        for number, line in enumerate(terminal.verdict_lines(run)):
            reporter.write_line(line, bold=number == 0, green=go, red=not go)


def _stop_message(reason: str) -> str:
    """What pytest (or xdist) shows when --staging-fail-fast stops the run."""
    return f"--staging-fail-fast: {reason}"
