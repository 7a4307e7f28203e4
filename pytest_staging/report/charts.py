"""The HTML report's charts as inline SVG, drawn here: nothing to install, nothing fetched.

Three kinds of picture, each a plain `<figure>` with the numbers also in SVG
`<title>` tooltips: bars against a marker (pass rate against threshold; p50,
p95 and p99 nested against the budget) and lines over time (a load run's
requests per second and p95). Colours only repeat what the labels say.
Every label passes the redactor before it is drawn.

Why not a library: pygal imports `importlib_metadata`, which patches the
standard library's distribution finder for the whole process (pytest's own
plugin discovery included); leather draws no marker on a category axis;
matplotlib and plotly are far heavier than three pictures.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_staging.gate import percent
from pytest_staging.redaction import escaped, redactor

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from pytest_staging.gate import CategoryResult

WIDTH = 760
LATENCY_SHOWN = 12
HISTORY_POINTS = 240
_ROW = 26
_TOP = 34
_AXIS = 26
_CHAR = 7
_FONT = 'font-family="sans-serif" font-size="12"'
_GREEN, _RED, _GREY, _INK = "#2f855a", "#c53030", "#a0aec0", "#1a202c"
_LATENCY_COLOURS = ("#bee3f8", "#63b3ed", "#2b6cb0")
_LOAD_COLOURS = ("#2b6cb0", "#dd6b20")


@dataclass(frozen=True)
class _Bar:
    value: float
    colour: str
    name: str


@dataclass(frozen=True)
class _Row:
    label: str
    bars: tuple[_Bar, ...]
    """Drawn from zero, longest first, so shorter bars sit inside longer ones."""
    marker: float | None = None
    note: str = ""


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above `value`: an axis end."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next(step * power for step in (1.0, 2.0, 2.5, 5.0, 10.0) if step * power >= value)


def _figure(chart_id: str, caption: str, svg: str) -> str:
    return (
        f'<figure class="staging-chart" id="{chart_id}">'
        f"<figcaption>{html.escape(caption)}</figcaption>{svg}</figure>"
    )


def svg_document(height: int, label: str, body: str) -> str:
    """An inline `<svg>` `WIDTH` wide on a white ground; `label` is its accessible name."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{html.escape(label)}">'
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>{body}</svg>'
    )


def _legend(entries: Sequence[tuple[str, str, bool]]) -> str:
    """(name, colour, is_marker) swatches in one line along the top."""
    parts, x = [], 8
    for name, colour, is_marker in entries:
        swatch = (
            f'<rect x="{x + 5}" y="6" width="3" height="14" fill="{colour}"/>'
            if is_marker
            else f'<rect x="{x}" y="8" width="14" height="10" fill="{colour}"/>'
        )
        parts.append(f'{swatch}<text x="{x + 19}" y="18" {_FONT}>{html.escape(name)}</text>')
        x += 32 + _CHAR * len(name)
    return "".join(parts)


def _bar_chart(
    rows: Sequence[_Row],
    scale: float,
    legend: Sequence[tuple[str, str, bool]],
    tick: Callable[[float], str],
    label: str,
) -> str:
    left = min(max(_CHAR * max(len(row.label) for row in rows) + 16, 80), 300)
    right = 90
    plot = WIDTH - left - right
    height = _TOP + _ROW * len(rows) + _AXIS

    def x_of(value: float) -> float:
        return left + plot * min(max(value, 0.0), scale) / scale

    parts = [_legend(legend)]
    bottom = _TOP + _ROW * len(rows)
    for step in range(5):
        value = scale * step / 4
        x = x_of(value)
        parts.append(
            f'<line x1="{x:.1f}" y1="{_TOP}" x2="{x:.1f}" y2="{bottom}" stroke="#e2e8f0"/>'
            f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" {_FONT}>{tick(value)}</text>'
        )
    marker_name = legend[-1][0]
    for index, row in enumerate(rows):
        top = _TOP + _ROW * index
        name = escaped(row.label)
        parts.append(f'<text x="{left - 8}" y="{top + 17}" text-anchor="end" {_FONT}>{name}</text>')
        for depth, bar in enumerate(sorted(row.bars, key=lambda bar: -bar.value)):
            inset = 4 + 2 * depth
            width = x_of(bar.value) - left
            tip = f"{name}: {html.escape(bar.name)} {tick(bar.value)}"
            parts.append(
                f'<rect x="{left}" y="{top + inset}" width="{width:.1f}" '
                f'height="{_ROW - 2 * inset}" fill="{bar.colour}"><title>{tip}</title></rect>'
            )
        if row.marker is not None:
            x = x_of(row.marker) - 1.5
            tip = f"{name}: {html.escape(marker_name)} {tick(row.marker)}"
            parts.append(
                f'<rect x="{x:.1f}" y="{top + 1}" width="3" height="{_ROW - 2}" '
                f'fill="{_INK}"><title>{tip}</title></rect>'
            )
        parts.append(
            f'<text x="{left + plot + 6}" y="{top + 17}" {_FONT}>{html.escape(row.note)}</text>'
        )
    return svg_document(height, label, "".join(parts))


def pass_rates(results: Sequence[CategoryResult]) -> str | None:
    """Pass rate per category (green when its gate holds, red when it fails) against its
    threshold; None when no category ran a test."""
    rows = []
    for result in results:
        if result.pass_rate is None:
            continue
        colour = _RED if result.ok is False else _GREEN if result.ok else _GREY
        rows.append(
            _Row(
                result.name,
                (_Bar(result.pass_rate, colour, "pass rate"),),
                marker=result.threshold,
                note=f"{percent(result.pass_rate, result.threshold)} {result.status}",
            )
        )
    if not rows:
        return None
    legend = [("pass rate, gate holds", _GREEN, False), ("fails", _RED, False)]
    legend.append(("threshold", _INK, True))
    caption = "Pass rate per category against its threshold"
    svg = _bar_chart(rows, 100.0, legend, lambda value: f"{value:g}%", caption)
    return _figure("staging-chart-pass-rate", caption, svg)


def latency(summary: Mapping[str, Mapping[str, Any]], shown: int = LATENCY_SHOWN) -> str | None:
    """p50, p95 and p99 per request name against its budget, the slowest (by p95) first."""
    if not summary:
        return None
    ranked = sorted(summary.items(), key=lambda item: -float(item[1]["p95_ms"]))[:shown]
    names = ("p50", "p95", "p99")
    rows = [
        _Row(
            name,
            tuple(
                _Bar(float(stats[f"{key}_ms"]), colour, key)
                for key, colour in zip(names, _LATENCY_COLOURS, strict=True)
            ),
            marker=stats.get("budget_ms"),
            note=f"p95 {float(stats['p95_ms']):.1f} ms",
        )
        for name, stats in ranked
    ]
    highest = max(max(float(stats["p99_ms"]), stats.get("budget_ms") or 0) for _, stats in ranked)
    legend = [*((key, colour, False) for key, colour in zip(names, _LATENCY_COLOURS, strict=True))]
    legend.append(("budget", _INK, True))
    caption = "Latency per request against its budget (ms, client-observed)"
    if len(summary) > shown:
        caption += f": the {shown} slowest by p95 of {len(summary)}"
    svg = _bar_chart(rows, nice_ceiling(highest), legend, lambda value: f"{value:g} ms", caption)
    return _figure("staging-chart-latency", caption, svg)


def _thinned(points: Sequence[Mapping[str, Any]], most: int) -> list[Mapping[str, Any]]:
    """At most `most` points spread evenly over the run, the last one always kept."""
    if len(points) <= most:
        return list(points)
    step = len(points) / most
    return [points[int(index * step)] for index in range(most - 1)] + [points[-1]]


def _panel(
    points: Sequence[tuple[float, float]], top: int, span: float, title: str, colour: str
) -> str:
    """One line over time in a band of the picture, its y axis from zero to a round top."""
    left, right, height = 70, 20, 110
    plot = WIDTH - left - right
    scale = nice_ceiling(max(value for _, value in points))
    bottom = top + height

    def at(t: float, value: float) -> str:
        return f"{left + plot * t / span:.1f},{bottom - height * value / scale:.1f}"

    parts = [f'<text x="{left}" y="{top - 6}" {_FONT} fill="{colour}">{html.escape(title)}</text>']
    for step in range(3):
        value = scale * step / 2
        y = bottom - height * step / 2
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="#e2e8f0"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>{value:g}</text>'
        )
    line = " ".join(at(t, value) for t, value in points)
    parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
    return "".join(parts)


def load_history(load: Mapping[str, Any], index: int) -> str | None:
    """Requests per second and p95 (ms) over the load run's time, from locust's once-a-second
    points (at most `HISTORY_POINTS` of them drawn)."""
    points = _thinned(load.get("history") or (), HISTORY_POINTS)
    if not points:
        return None
    span = max(float(points[-1]["t"]), 1.0)
    rps = [(float(point["t"]), float(point["rps"] or 0)) for point in points]
    p95 = [(float(point["t"]), float(point["p95_ms"] or 0)) for point in points]
    caption = (
        f"Load run {redactor.redact(str(load['name']))}: requests per second and p95 over time"
    )
    body = (
        _panel(rps, 24, span, "requests per second", _LOAD_COLOURS[0])
        + _panel(p95, 184, span, "p95 ms", _LOAD_COLOURS[1])
        + "".join(
            f'<text x="{70 + (WIDTH - 90) * share:.1f}" y="312" text-anchor="middle" {_FONT}>'
            f"{span * share:.0f} s</text>"
            for share in (0, 0.5, 1)
        )
    )
    return _figure(f"staging-chart-load-{index}", caption, svg_document(324, caption, body))
