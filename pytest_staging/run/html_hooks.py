"""pytest-html (v4) hooks: the verdict block in the summary, each test's requests as an extra.

Registered on the controller only, and only when pytest-html writes a report
(`--html`): its hook names exist only then. Both parts read what the
controller already has (the finished run, the data each report carries from its
worker), so they add nothing to a run's per-test cost on the workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from pytest_html import extras

from pytest_staging.redaction import escaped
from pytest_staging.report import html_summary
from pytest_staging.run.test_records import REPORT_ATTRIBUTE

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pytest_staging.run.controller import GateController

HTML_PLUGIN = "staging-html"
REQUESTS_SHOWN = 50
_WRAPPED = "white-space: pre-wrap; overflow-wrap: anywhere"


def _request_rows(requests: Sequence[Mapping[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td>{escaped(request['method'])}</td><td>{escaped(request['path'])}</td>"
        f"<td>{escaped(request['status'] if request['status'] is not None else '-')}</td>"
        f"<td>{request['duration_ms']:.1f}</td><td>{escaped(request['error'] or '')}</td></tr>"
        for request in requests[:REQUESTS_SHOWN]
    )
    more = len(requests) - REQUESTS_SHOWN
    if more > 0:
        rows += f'<tr><td colspan="5">… and {more} more request(s)</td></tr>'
    return rows


def requests_extra(data: Mapping[str, Any]) -> str | None:
    """One phase's requests (method, path, status, ms) and, when it failed, the target's
    last answer: an HTML fragment for the test's row, or None when there is nothing."""
    requests = data.get("requests") or ()
    answer = data.get("answer")
    parts = []
    if requests:
        head = "<tr><th>method</th><th>path</th><th>status</th><th>ms</th><th>error</th></tr>"
        parts.append(
            f'<table class="staging-requests"><caption>{len(requests)} request(s) to the '
            f"target</caption><thead>{head}</thead><tbody>{_request_rows(requests)}</tbody></table>"
        )
    if answer:
        parts.append(
            f'<div class="staging-answer"><p>Last answer: {escaped(answer["request"])} → '
            f"{escaped(answer['status'])}</p>"
            f'<pre style="{_WRAPPED}">{escaped(answer["body"])}</pre></div>'
        )
    return "".join(parts) or None


class HtmlHooks:
    """The pytest-html hooks; the verdict comes from the controller once it has decided."""

    def __init__(self, controller: GateController) -> None:
        self._controller = controller

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, REPORT_ATTRIBUTE, None)
        fragment = requests_extra(data) if data else None
        if fragment is not None:
            report.extras = [*getattr(report, "extras", []), extras.html(fragment)]  # type: ignore[attr-defined]

    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        run = self._controller.finished_run
        if run is not None:
            prefix.insert(0, html_summary.section(run))
