"""Line charts over the soak's time as inline SVG, and one-line text sparklines for Markdown.

Drawn here, with nothing to install or fetch (the HTML summary is one self-contained file).
Every point carries its value in an SVG `<title>` tooltip; colours only repeat what the
legend says. Labels pass the redactor before they are drawn.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from pytest_staging.durations import shown
from pytest_staging.redaction import escaped
from pytest_staging.report.charts import WIDTH, nice_ceiling, svg_document

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

PLOT_HEIGHT = 170
MAX_SERIES = 8
_LEFT, _RIGHT, _BOTTOM, _LEGEND_ROW = 78, 16, 30, 16
_FONT = 'font-family="sans-serif" font-size="12"'
_COLOURS = ("#2b6cb0", "#dd6b20", "#2f855a", "#c53030", "#6b46c1", "#b7791f", "#319795", "#d53f8c")
_BLOCKS = "▁▂▃▄▅▆▇█"

Series = tuple[str, "Sequence[tuple[float, float]]"]
"""A name and its points: (seconds since the soak started, value)."""


def line_chart(
    chart_id: str,
    caption: str,
    series: Sequence[Series],
    value: Callable[[float], str],
    *,
    y_max: float | None = None,
    x_end: float | None = None,
) -> str | None:
    """A `<figure>` with one line per series over time (from 0 to `x_end` seconds, by
    default the last point); None when no series has a point."""
    drawn = [(name, sorted(points)) for name, points in series[:MAX_SERIES] if points]
    if not drawn:
        return None
    x_end = x_end or max(max(x for x, _ in points) for _, points in drawn) or 1.0
    top = y_max or nice_ceiling(max(max(y for _, y in points) for _, points in drawn))
    legend, legend_height = _legend([name for name, _ in drawn])
    plot_top = legend_height + 14
    height = plot_top + PLOT_HEIGHT + _BOTTOM
    plot_w = WIDTH - _LEFT - _RIGHT

    def at(x: float, y: float) -> str:
        px = _LEFT + plot_w * x / x_end
        py = plot_top + PLOT_HEIGHT * (1 - min(max(y, 0.0), top) / top)
        return f"{px:.1f},{py:.1f}"

    parts = [legend, _axes(plot_top, x_end, top, value)]
    for (name, points), colour in zip(drawn, _COLOURS, strict=False):
        line = " ".join(at(x, y) for x, y in points)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            cx, cy = at(x, y).split(",")
            tip = f"{escaped(name)} at {shown(x)}: {html.escape(value(y))}"
            parts.append(
                f'<circle cx="{cx}" cy="{cy}" r="3.5" fill="{colour}"><title>{tip}</title></circle>'
            )
    svg = svg_document(height, caption, "".join(parts))
    return (
        f'<figure class="soak-chart" id="{chart_id}">'
        f"<figcaption>{html.escape(caption)}</figcaption>{svg}</figure>"
    )


def _axes(plot_top: int, x_end: float, top: float, value: Callable[[float], str]) -> str:
    bottom, right = plot_top + PLOT_HEIGHT, WIDTH - _RIGHT
    parts = []
    for step in range(5):
        y = plot_top + PLOT_HEIGHT * step / 4
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e2e8f0"/>'
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>'
            f"{html.escape(value(top * (4 - step) / 4))}</text>"
        )
        x = _LEFT + (right - _LEFT) * step / 4
        parts.append(
            f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle" {_FONT}>'
            f"{shown(x_end * step / 4)}</text>"
        )
    parts.append(f'<line x1="{_LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#1a202c"/>')
    return "".join(parts)


def _legend(names: Sequence[str]) -> tuple[str, int]:
    """Swatches and names in rows along the top; the SVG and the height it takes."""
    parts, x, y = [], 8, 14
    for name, colour in zip(names, _COLOURS, strict=False):
        width = 32 + 7 * len(name)
        if x + width > WIDTH and x > 8:
            x, y = 8, y + _LEGEND_ROW
        parts.append(
            f'<rect x="{x}" y="{y - 7}" width="14" height="4" fill="{colour}"/>'
            f'<text x="{x + 19}" y="{y}" {_FONT}>{escaped(name)}</text>'
        )
        x += width
    return "".join(parts), y


def sparkline(values: Sequence[float]) -> str:
    """`▁▃█`: the values scaled between their own lowest and highest."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return _BLOCKS[3] * len(values)
    return "".join(_BLOCKS[round((v - low) / (high - low) * (len(_BLOCKS) - 1))] for v in values)
