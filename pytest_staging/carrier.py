"""Our per-test data onto pytest's phase reports, only while a target is configured.

Registered on the controller and on every xdist worker when a target is set, so
a run without one has no per-test hook of ours at all. The report attribute is
what xdist ships to the controller, so the controller counts the same with and
without xdist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_staging.outcomes import REPORT_ATTRIBUTE, last_answer, report_data

if TYPE_CHECKING:
    from collections.abc import Generator

    from pytest_staging.evidence import EvidenceLog
    from pytest_staging.recording import RequestLog

CARRIER_PLUGIN = "staging-carrier"


class ReportCarrier:
    """Hands each phase's categories, requests, broken limits, load runs and retries to its
    report, and to a failed phase the target's last answer."""

    def __init__(
        self, categories: tuple[str, ...], requests: RequestLog, evidence: EvidenceLog
    ) -> None:
        self._categories = categories
        self._requests = requests
        self._evidence = evidence

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        breaches, loads = self._evidence.take()
        last = self._requests.last_response if report.failed else None
        data = report_data(
            item,
            call.when,
            self._categories,
            requests=self._requests.take(),
            breaches=breaches,
            loads=loads,
            answer=None if last is None else last_answer(last),
            retries=self._evidence.take_retries(),
        )
        if data is not None:
            setattr(report, REPORT_ATTRIBUTE, data)
        return report
