"""The gate table and verdict banner at the end of the terminal output.

Plain text that stays parseable: one header row, one row per category, then
`STAGING GATE: GO|NO-GO` and each reason on its own line. Colour is not chosen
here: the controller asks pytest's terminal writer for it, which colours only
a terminal (or `--color=yes`), so piped output and CI logs carry no escapes.

Only the table's rows (header, categories, total) are held to `WIDTH` columns:
a category name too long for its column is cut with `...` (the reports keep it
whole). Free text stays whole, one item per line, so that it can be grepped and
copied: the reasons, the node ids of tolerated and flaky tests, the load runs
and the title with the target URL. A table row splits back into its eight
fields with `line.split(None, 7)`: names have no spaces, and the result (which
may: `not run`, `not gated`) is the last field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_staging.gate import percent, percent_or_dash

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pytest_staging.report.renderable import Counts, Renderable

WIDTH = 80
"""Columns the table rows fit: pytest's width when the output is not a terminal."""

ELLIPSIS = "..."
INSECURE_WARNING = "WARNING: --staging-insecure: TLS certificates are NOT verified"
"""In the header of a run with `--staging-insecure`, and again at its very end."""

_COUNTS = "{:>6} {:>6} {:>6} {:>7} {:>7} {:>9}  {}"
_HEADINGS = ("passed", "failed", "errors", "skipped", "rate", "threshold", "result")
NAME_WIDTH = 16
"""The category column's usual width; it grows for longer names, up to `NAME_WIDTH_MAX`."""
NAME_WIDTH_MAX = WIDTH - 1 - len(_COUNTS.format(*([""] * 6), "not gated"))
"""The widest category column that keeps a row of the widest result in `WIDTH` columns."""


def cut(text: str, width: int) -> str:
    """`text`, or its start and `...` in `width` characters when it is longer."""
    return text if len(text) <= width else text[: width - len(ELLIPSIS)] + ELLIPSIS


def name_width(names: Iterable[str]) -> int:
    """The category column's width for these names, from NAME_WIDTH to NAME_WIDTH_MAX."""
    return min(max([NAME_WIDTH, *(len(name) for name in names)]), NAME_WIDTH_MAX)


def header(width: int = NAME_WIDTH) -> str:
    return f"{'category':<{width}} " + _COUNTS.format(*_HEADINGS)


HEADER = header()


def category_row(result: Counts, status: str, width: int = NAME_WIDTH) -> str:
    return f"{cut(result.name, width):<{width}} " + _COUNTS.format(
        result.passed,
        result.failed,
        result.errors,
        result.skipped + result.xfailed,
        percent_or_dash(result.pass_rate, result.threshold),
        percent_or_dash(result.threshold),
        status,
    )


def title(run: Renderable) -> str:
    return f"staging gate: {run.target_url or 'no target'} ({run.environment})"


def table_lines(run: Renderable) -> list[str]:
    verdict = run.verdict
    width = name_width(result.name for result in verdict.categories)
    lines = [
        header(width),
        *(category_row(result, result.status, width) for result in verdict.categories),
    ]
    lines.append(category_row(verdict.totals, verdict.label, width))
    lines.extend(error_rate_lines(run))
    if verdict.tolerated:
        lines.append(f"failures within tolerance ({len(verdict.tolerated)}):")
        lines.extend(f"  - {nodeid}" for nodeid in verdict.tolerated)
    if verdict.flaky:
        lines.append(f"flaky, passed after a retry or a rerun ({len(verdict.flaky)}):")
        lines.extend(f"  - {nodeid}" for nodeid in verdict.flaky)
    return lines


SLOWEST_SHOWN = 5


def slowest(run: Renderable, shown: int = SLOWEST_SHOWN) -> list[tuple[str, Any]]:
    """(request name, latency stats) of the requests with the highest p95, slowest first."""
    return sorted(run.latency.items(), key=lambda item: -float(item[1]["p95_ms"]))[:shown]


def slowest_lines(run: Renderable, shown: int = SLOWEST_SHOWN) -> list[str]:
    """The requests with the highest p95 (client-observed), slowest first."""
    ranked = slowest(run, shown)
    if not ranked:
        return []
    lines = [f"slowest requests by p95 ({len(run.latency)} request name(s) in all):"]
    lines.extend(
        f"  {cut(name, 36):<36} p50 {stats['p50_ms']:>7.1f} ms  p95 {stats['p95_ms']:>7.1f} ms  "
        f"n={stats['count']}"
        for name, stats in ranked
    )
    return lines


def load_lines(run: Renderable) -> list[str]:
    """One line per load run: the totals and OK/FAIL against its thresholds, then its notes
    (the error-rate limit in force, each broken limit, the top failure causes)."""
    return [
        f"load {'OK' if load['ok'] else 'FAIL'}: {load['name']}: {load['requests']} requests, "
        f"{load['rps']:.1f} req/s, {failure_rate(load)} failed, "
        f"p95 {load['percentiles']['p95_ms']:g} ms"
        + "".join(f"; {note}" for note in load.get("notes", ()))
        for load in run.load
    ]


def failure_rate(load: Mapping[str, Any]) -> str:
    """A load run's failure rate, never shown at or under the error-rate limit it broke."""
    limit = load["thresholds"].get("error_rate")
    return percent(load["failure_rate"], limit, fails_above=True)


def withheld_lines(run: Renderable) -> list[str]:
    """How many destructive tests the guard withheld, and why (one line per reason)."""
    reasons: dict[str, int] = {}
    for _, why in run.withheld:
        reasons[why] = reasons.get(why, 0) + 1
    return [f"destructive tests withheld ({count}): {why}" for why, count in reasons.items()]


def error_rate_lines(run: Renderable) -> list[str]:
    """The run's request error rate against `max_error_rate`, when that limit is set."""
    requests = run.requests
    rate, limit = requests.error_rate, requests.max_error_rate
    if limit is None:
        return []
    if rate is None:
        return [f"error rate: no request sent, max_error_rate {percent(limit)}"]
    shown = percent(rate, limit, fails_above=True)
    return [
        f"error rate {shown} ({requests.failed} of {requests.total} requests "
        f"failed), max_error_rate {percent(limit)}: {'OK' if rate <= limit else 'FAIL'}"
    ]


def note_lines(run: Renderable) -> list[str]:
    """What the run left out or skipped without changing the verdict: a partial run, the
    skip reasons of gated categories (the HTTPS checks on a plain-HTTP target, say)."""
    return [f"note: {note}" for note in run.verdict.notes]


def verdict_lines(run: Renderable) -> list[str]:
    verdict = run.verdict
    return [f"STAGING GATE: {verdict.label}", *(f"  - {reason}" for reason in verdict.reasons)]
