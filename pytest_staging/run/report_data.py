"""Our per-test data onto pytest's phase reports, only while a target is configured.

Registered on the controller and on every xdist worker when a target is set, so
a run without one has no per-test hook of ours at all. The report attribute is
what xdist ships to the controller, so the controller counts the same with and
without xdist.

A phase that failed because a request got no usable answer (refused, reset, a
broken TLS handshake, a timeout...) is shown as the one line of
`failures.failure_line` instead of a hundred frames of httpx, httpcore and
tenacity. The report is shaped here, where it is made, so the terminal, JUnit,
pytest-html and xdist all carry the same line; `--tb=long`, `--tb=native` and
`--full-trace` still show every frame to whoever asks for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from _pytest._code.code import ExceptionChainRepr, ReprEntry, ReprFileLocation, ReprTraceback

from pytest_staging.http.failures import failure_line
from pytest_staging.run.test_records import REPORT_ATTRIBUTE, last_answer, report_data

if TYPE_CHECKING:
    from collections.abc import Generator

    from pytest_staging.phase_log import PhaseLog

REPORT_DATA_PLUGIN = "staging-report-data"


class ReportDataWriter:
    """Hands each phase's categories, requests, broken limits, load runs and retries to its
    report, and to a failed phase the target's last answer."""

    def __init__(self, categories: tuple[str, ...], phase_log: PhaseLog) -> None:
        self._categories = categories
        self._phase_log = phase_log

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.failed and call.excinfo is not None and _one_line_wanted(item.config):
            _shorten(report, item, call.excinfo)
        last = self._phase_log.last_response if report.failed else None
        answer = None if last is None else last_answer(last)
        data = report_data(item, call.when, self._categories, self._phase_log.take(), answer)
        if data is not None:
            setattr(report, REPORT_ATTRIBUTE, data)
        return report


def _one_line_wanted(config: pytest.Config) -> bool:
    """Unless the user asked for every frame."""
    style = config.getoption("tbstyle", "auto")
    return not (config.getoption("fulltrace", False) or style in {"long", "native"})


def _shorten(
    report: pytest.TestReport, item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]
) -> None:
    """A request's failure as its one line (see `failures.failure_line`); others untouched."""
    line = failure_line(excinfo.value)
    if line is not None:
        report.longrepr = _one_line_repr(item, excinfo, line)


def _one_line_repr(
    item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException], line: str
) -> ExceptionChainRepr:
    """The form `pytest.fail(..., pytrace=False)` gives: the line alone in the failure section,
    and as the crash message (`httpx.ConnectError: GET /x: ...`) at the test's own line, which
    JUnit's `message`, the short summary and `--tb=line` show."""
    kind = type(excinfo.value)
    crash = ReprFileLocation(
        *_test_line(item, excinfo), f"{kind.__module__}.{kind.__qualname__}: {line}"
    )
    entry = ReprEntry([line], None, None, None, "value")
    return ExceptionChainRepr([(ReprTraceback([entry], None, "value"), crash, None)])


def _test_line(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException]) -> tuple[str, int]:
    """The test file (as pytest names it) and its line that made the failing call, else the
    line the test is defined on (a fixture's request, say)."""
    path, lineno, _ = item.location
    calls = (entry.lineno for entry in reversed(excinfo.traceback) if entry.path == item.path)
    return path, next(calls, lineno or 0) + 1
