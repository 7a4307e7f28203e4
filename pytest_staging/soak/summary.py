"""The soak summary: `soak-summary.md` and a self-contained `soak-summary.html`.

Both say the verdict with its reasons, the trends against their limits and every run
(missed ones included), and are rewritten after each run, so a soak that is still going
or was stopped has an up-to-date, provisional summary. The HTML adds a line chart per kind
of trend; the Markdown a sparkline per trend. Every text passes the redactor.
"""

from __future__ import annotations

import html
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_staging.durations import shown
from pytest_staging.gate import percent
from pytest_staging.redaction import redactor
from pytest_staging.soak import svg
from pytest_staging.soak.state import SUMMARY, write_atomically
from pytest_staging.soak.trends import confidence

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from datetime import datetime
    from pathlib import Path

    from pytest_staging.soak.decision import SoakVerdict
    from pytest_staging.soak.facts import RunFacts
    from pytest_staging.soak.metrics import Sample
    from pytest_staging.soak.schedule import Schedule
    from pytest_staging.soak.trends import Trend

_MIB = 1024 * 1024
_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 62em; color: #1a202c; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #cbd5e0; padding: .25em .6em; text-align: left; }
td.num { text-align: right; }
.GO { color: #2f855a; } .NO-GO, .FAIL, .FAILED { color: #c53030; }
.missed, .not-judged { color: #718096; }
figure { margin: 1em 0; } figcaption { font-weight: bold; margin-bottom: .3em; }
"""


@dataclass(frozen=True)
class SoakView:
    """Everything the summary shows."""

    state_dir: Path
    schedule: Schedule
    runs: Sequence[RunFacts]
    samples: Mapping[int, Sample]
    verdict: SoakVerdict
    complete: bool


def write(view: SoakView) -> tuple[Path, Path]:
    """Write both files into the state folder; their paths (Markdown, HTML)."""
    markdown_path = view.state_dir / f"{SUMMARY}.md"
    html_path = view.state_dir / f"{SUMMARY}.html"
    write_atomically(markdown_path, markdown(view))
    write_atomically(html_path, html_page(view))
    return markdown_path, html_path


def _clean(value: object) -> str:
    return redactor.redact(str(value))


def _status(view: SoakView) -> str:
    finished = sum(1 for run in view.runs if run.status == "finished")
    planned = view.schedule.runs
    base = (
        f"{finished} of {planned} runs every {shown(view.schedule.every_s)} over "
        f"{shown(view.schedule.duration_s)}, started "
        f"{view.schedule.started_at.strftime('%Y-%m-%d %H:%M:%S %Z')}"
    )
    if view.complete:
        return f"{base}; complete"
    return f"{base}; in progress: a provisional verdict"


def _args(view: SoakView) -> str:
    return shlex.join(view.schedule.args)


def _value_format(trend: Trend) -> Callable[[float], str]:
    if trend.kind == "memory":
        return lambda value: f"{value / _MIB:.1f} MiB"
    if trend.kind == "p95":
        return lambda value: f"{value:.1f} ms"
    if trend.kind == "cpu":
        return lambda value: f"{value:.1f}% CPU"
    return percent


def _trend_row(trend: Trend) -> list[str]:
    value = _value_format(trend)
    first = value(trend.points[0][1]) if trend.points else "-"
    last = value(trend.points[-1][1]) if trend.points else "-"
    unit = "%/h" if trend.unit == "%/h" else " points/h"
    bound = f"≥ -{trend.limit:g}" if trend.direction == "drop" else f"≤ +{trend.limit:g}"
    result = trend.result
    if trend.not_judged is not None:
        result = f"{result}: {trend.not_judged}"
    return [
        trend.kind,
        _clean(trend.name),
        str(len(trend.points)),
        first,
        last,
        trend.shown_rate,
        trend.shown_interval,
        f"{bound}{unit}",
        result,
    ]


_TREND_HEAD = [
    "kind",
    "name",
    "points",
    "first",
    "last",
    "per hour",
    f"{confidence()} CI",
    "limit",
    "result",
]
_RUN_HEAD = ["run", "started", "took", "verdict", "passed", "failed", "errors", "requests", "why"]


def _run_row(run: RunFacts, view: SoakView) -> list[str]:
    if run.status == "missed":
        planned = view.schedule.planned(run.run)
        return [str(run.run), f"due {_time(planned)}", "-", "missed", "", "", "", "", ""]
    requests = sum(stats.count for stats in run.latency.values())
    why = _clean(run.why) if run.failed_run else ""
    took = "-" if run.took_s is None else shown(run.took_s)
    counts = [str(run.passed), str(run.failed), str(run.errors), str(requests)]
    if run.verdict is None:
        counts = ["-"] * 4
    return [str(run.run), _time(run.at), took, run.label, *counts, why]


def _time(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return [line(head), line(["---"] * len(head)), *(line(row) for row in rows)]


def markdown(view: SoakView) -> str:
    verdict = view.verdict
    lines = [f"# Soak: {verdict.label}", "", _clean(_status(view)), ""]
    lines += [f"Pytest arguments: `{_clean(_args(view))}`", ""]
    lines += ["## Reasons", ""]
    lines += [f"- {_clean(reason)}" for reason in verdict.reasons] or ["None: every rule holds."]
    if verdict.notes:
        lines += ["", "## Notes", "", *(f"- {_clean(note)}" for note in verdict.notes)]
    lines += ["", "## Trends", ""]
    if verdict.trends:
        rows = [[*_trend_row(t), svg.sparkline([v for _, v in t.points])] for t in verdict.trends]
        lines += _md_table([*_TREND_HEAD, "trend"], rows)
    else:
        lines.append("No trend yet.")
    lines += ["", "## Runs", ""]
    rows = [[*_run_row(run, view), " ".join(_md_links(run))] for run in view.runs]
    lines += _md_table([*_RUN_HEAD, "files"], rows)
    lines += ["", f"Reports and logs: `{view.state_dir / 'runs'}`", ""]
    return "\n".join(lines)


def _links(run: RunFacts) -> list[tuple[str, str]]:
    """The run's files, relative to the summary: (label, path)."""
    if run.status == "missed":
        return []
    stem = f"runs/{run.run:03d}"
    report = [("report", f"{stem}.json")] if run.verdict is not None else []
    return [*report, ("log", f"{stem}.log")]


def _md_links(run: RunFacts) -> list[str]:
    return [f"[{label}]({path})" for label, path in _links(run)]


def _html_links(run: RunFacts) -> str:
    links = " ".join(f'<a href="{path}">{label}</a>' for label, path in _links(run))
    return f"<td>{links}</td>"


def _html_table(head: Sequence[str], rows: Sequence[Sequence[str]], raw: Sequence[str] = ()) -> str:
    """A table of escaped cells; `raw` adds one cell of ready HTML to each row."""

    def cell(value: str, tag: str = "td") -> str:
        kind = ' class="num"' if value[:1].isdigit() or value[:1] in "+-" else ""
        if value in ("GO", "NO-GO", "FAIL", "FAILED", "missed"):
            kind = f' class="{value}"'
        elif value.startswith("not judged"):
            kind = ' class="not-judged"'
        return f"<{tag}{kind}>{html.escape(value)}</{tag}>"

    header = "".join(f"<th>{html.escape(name)}</th>" for name in head)
    extra = list(raw) or [""] * len(rows)
    body = "".join(
        f"<tr>{''.join(cell(value) for value in row)}{added}</tr>"
        for row, added in zip(rows, extra, strict=True)
    )
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


def _charts(view: SoakView) -> list[str]:
    """One chart per kind of trend, all over the same span of time."""
    origin = view.schedule.started_at
    ends = [at for trend in view.verdict.trends for at, _ in trend.points]
    x_end = max((at - origin).total_seconds() for at in ends) if ends else None
    charts = []
    for kind, caption, y_max in (
        ("pass rate", "Pass rate per gated category (%)", 100.0),
        ("p95", "p95 per request (ms, client-observed)", None),
        ("memory", "Memory after each run", None),
        ("cpu", "CPU use between runs (% of one core)", None),
    ):
        trends = [trend for trend in view.verdict.trends if trend.kind == kind and trend.points]
        if not trends:
            continue
        scale = _MIB if kind == "memory" else 1.0
        series = [
            (t.name, [((at - origin).total_seconds(), value / scale) for at, value in t.points])
            for t in sorted(trends, key=lambda t: -(t.per_hour or 0.0))
        ]
        shown_value = _value_format(trends[0])
        chart = svg.line_chart(
            f"soak-chart-{kind.replace(' ', '-')}",
            caption,
            series,
            (lambda value: f"{value:g} MiB") if kind == "memory" else shown_value,
            y_max=y_max,
            x_end=x_end,
        )
        if chart is not None:
            charts.append(chart)
    return charts


def html_page(view: SoakView) -> str:
    verdict = view.verdict
    reasons = "".join(f"<li>{html.escape(_clean(r))}</li>" for r in verdict.reasons)
    notes = "".join(f"<li>{html.escape(_clean(n))}</li>" for n in verdict.notes)
    trend_rows = [_trend_row(trend) for trend in verdict.trends]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Soak: {verdict.label}</title><style>{_STYLE}</style></head><body>",
        f'<h1>Soak: <span class="{verdict.label}">{verdict.label}</span></h1>',
        f"<p>{html.escape(_clean(_status(view)))}</p>",
        f"<p>Pytest arguments: <code>{html.escape(_clean(_args(view)))}</code></p>",
        "<h2>Reasons</h2>",
        f"<ul>{reasons}</ul>" if reasons else "<p>None: every rule holds.</p>",
        f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "",
        "<h2>Trends</h2>",
        *_charts(view),
        _html_table(_TREND_HEAD, trend_rows) if trend_rows else "<p>No trend yet.</p>",
        "<h2>Runs</h2>",
        _html_table(
            [*_RUN_HEAD, "files"],
            [_run_row(run, view) for run in view.runs],
            [_html_links(run) for run in view.runs],
        ),
        f"<p>Reports and logs: <code>{html.escape(str(view.state_dir / 'runs'))}</code></p>",
        "</body></html>",
        "",
    ]
    return "\n".join(part for part in parts if part)
