"""The verdict as the first block of pytest-html's summary: what a person signs off from.

Verdict first (green GO / red NO-GO, and the word itself so it reads without
colour), then the reasons, the notes (a partial run, skipped checks), the gate
table and the error rate, tolerated and flaky tests, the charts and the audit
block. Styles are inline in the block, so it
looks the same with `--self-contained-html`; every piece of free text is
escaped and masked for secrets.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from pytest_staging.gate import CategoryResult, percent, percent_or_dash
from pytest_staging.redaction import escaped
from pytest_staging.report import charts, terminal
from pytest_staging.report.json_report import audit

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pytest_staging.report.finished_run import FinishedRun

SECTION_ID = "staging-gate"
_COLUMNS = ("category", "passed", "failed", "errors", "skipped", "rate", "threshold", "result")
_STYLE = """
#staging-gate { margin: 0 0 1.5em; color: #222; }
#staging-gate h3, #staging-gate h4, #staging-gate figcaption { color: #222; }
#staging-gate .staging-verdict { padding: .4em .6em; color: #fff; border-radius: 4px; }
#staging-gate.staging-go .staging-verdict { background: #2f855a; }
#staging-gate.staging-no-go .staging-verdict { background: #c53030; }
#staging-gate table { border-collapse: collapse; margin: .5em 0; }
#staging-gate th, #staging-gate td {
  border: 1px solid #ccc; padding: 2px 8px; text-align: right; color: #222;
}
#staging-gate th:first-child, #staging-gate td:first-child { text-align: left; }
#staging-gate .staging-fail { color: #c53030; font-weight: bold; }
#staging-gate .staging-ok { color: #2f855a; font-weight: bold; }
#staging-gate .staging-warning { color: #c53030; font-weight: bold; }
#staging-gate tfoot td { font-weight: bold; }
#staging-gate figure { margin: 1em 0; }
#staging-gate figure svg { max-width: 100%; height: auto; }
#staging-gate #staging-audit td { text-align: left; }
"""


def _result_class(status: str) -> str:
    if status in {"FAIL", "NO-GO"}:
        return "staging-fail"
    return "staging-ok" if status in {"OK", "GO"} else ""


def _cells(result: CategoryResult, status: str, tag: str = "td") -> str:
    counts = (result.passed, result.failed, result.errors, result.skipped + result.xfailed)
    rates = (percent_or_dash(result.pass_rate, result.threshold), percent_or_dash(result.threshold))
    cells = [escaped(result.name), *(str(count) for count in counts), *rates]
    row = "".join(f"<{tag}>{cell}</{tag}>" for cell in cells)
    return f'{row}<{tag} class="{_result_class(status)}">{html.escape(status)}</{tag}>'


def _gate_table(run: FinishedRun) -> str:
    verdict = run.verdict
    head = "".join(f"<th>{name}</th>" for name in _COLUMNS)
    rows = "".join(
        f'<tr data-category="{escaped(result.name)}">{_cells(result, result.status)}</tr>'
        for result in verdict.categories
    )
    total = _cells(verdict.totals, verdict.label)
    return (
        f'<table id="staging-gate-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{rows}</tbody><tfoot><tr>{total}</tr></tfoot></table>"
    )


def _listed(element_id: str, title: str, items: Iterable[str]) -> str:
    entries = "".join(f"<li>{escaped(item)}</li>" for item in items)
    if not entries:
        return ""
    return f'<div id="{element_id}"><h4>{html.escape(title)}</h4><ul>{entries}</ul></div>'


def _value(value: Any) -> str:
    """An audit fact in words; rates and thresholds are percentages."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{key} {_value(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "-"
    return str(value)


def _audit_table(run: FinishedRun) -> str:
    facts: dict[str, Any] = audit(run)
    facts["destructive_withheld"] = "; ".join(terminal.withheld_lines(run)) or None
    facts["thresholds"] = {name: percent(value) for name, value in facts["thresholds"].items()}
    rows = "".join(
        f"<tr><th>{html.escape(key.replace('_', ' '))}</th><td>{escaped(_value(value))}</td></tr>"
        for key, value in facts.items()
    )
    started = run.started_at.isoformat(timespec="seconds")
    rows += f"<tr><th>started at</th><td>{started}, {run.duration_s:.1f} s</td></tr>"
    return f'<h3>Audit</h3><table id="staging-audit">{rows}</table>'


def _charts(run: FinishedRun) -> str:
    figures = [
        charts.pass_rates(run.verdict.categories),
        charts.latency(run.latency),
        *(charts.load_history(load, index) for index, load in enumerate(run.load)),
    ]
    drawn = "".join(figure for figure in figures if figure)
    loads = _listed("staging-load", "Load runs", terminal.load_lines(run))
    return f'<div id="staging-charts"><h3>Charts</h3>{drawn}</div>{loads}'


def section(run: FinishedRun) -> str:
    """The whole block as one HTML fragment, for pytest-html's summary prefix."""
    verdict = run.verdict
    state = "staging-go" if verdict.go else "staging-no-go"
    target = escaped(run.target_url or "no target")
    parts = [
        f"<style>{_STYLE}</style>",
        f'<h2 class="staging-verdict">Staging gate: {verdict.label}</h2>',
        f'<p class="staging-target">Target: {target} (environment '
        f"{escaped(run.environment)}), exit code {run.exit_code}</p>",
    ]
    if run.insecure:
        parts.append(
            '<p class="staging-warning">WARNING: TLS certificates were NOT verified '
            "(--staging-insecure)</p>"
        )
    parts.append(_listed("staging-reasons", "Reasons", verdict.reasons))
    parts.append(_listed("staging-notes", "Notes", verdict.notes))
    parts.append(_gate_table(run))
    parts.extend(
        f'<p id="staging-error-rate">{escaped(line)}</p>' for line in terminal.error_rate_lines(run)
    )
    parts.append(_listed("staging-tolerated", "Failures within tolerance", verdict.tolerated))
    parts.append(_listed("staging-flaky", "Flaky, passed after a retry or a rerun", verdict.flaky))
    parts.append(_charts(run))
    parts.append(_audit_table(run))
    return (
        f'<section id="{SECTION_ID}" class="{state}" data-verdict="{verdict.label}">'
        + "".join(parts)
        + "</section>"
    )
