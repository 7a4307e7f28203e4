"""The gate table and verdict banner at the end of the terminal output.

Plain text that fits 80 columns and stays parseable: one header row, one row
per category, then `STAGING GATE: GO|NO-GO` and each reason on its own line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_staging.gate import CategoryResult, percent_or_dash

if TYPE_CHECKING:
    from pytest_staging.outcome import GateOutcome

_ROW = "{:<16} {:>6} {:>6} {:>6} {:>7} {:>7} {:>9}  {}"
HEADER = _ROW.format(
    "category", "passed", "failed", "errors", "skipped", "rate", "threshold", "result"
)


def category_row(result: CategoryResult, status: str | None = None) -> str:
    return _ROW.format(
        result.name[:16],
        result.passed,
        result.failed,
        result.errors,
        result.skipped + result.xfailed,
        percent_or_dash(result.pass_rate),
        percent_or_dash(result.threshold),
        result.status if status is None else status,
    )


def title(outcome: GateOutcome) -> str:
    return f"staging gate: {outcome.target_url or 'no target'} ({outcome.environment})"


def table_lines(outcome: GateOutcome) -> list[str]:
    verdict = outcome.verdict
    lines = [HEADER, *(category_row(result) for result in verdict.categories)]
    lines.append(category_row(verdict.totals, status="GO" if verdict.go else "NO-GO"))
    if verdict.tolerated:
        lines.append(f"failures within tolerance ({len(verdict.tolerated)}):")
        lines.extend(f"  - {nodeid}" for nodeid in verdict.tolerated)
    if verdict.flaky:
        lines.append(f"flaky, passed on a rerun ({len(verdict.flaky)}):")
        lines.extend(f"  - {nodeid}" for nodeid in verdict.flaky)
    return lines


SLOWEST_SHOWN = 5


def slowest(outcome: GateOutcome, shown: int = SLOWEST_SHOWN) -> list[tuple[str, Any]]:
    """(request name, latency stats) of the requests with the highest p95, slowest first."""
    return sorted(outcome.latency.items(), key=lambda item: -float(item[1]["p95_ms"]))[:shown]


def slowest_lines(outcome: GateOutcome, shown: int = SLOWEST_SHOWN) -> list[str]:
    """The requests with the highest p95 (client-observed), slowest first."""
    ranked = slowest(outcome, shown)
    if not ranked:
        return []
    lines = [f"slowest requests by p95 ({len(outcome.latency)} request name(s) in all):"]
    lines.extend(
        f"  {name[:36]:<36} p50 {stats['p50_ms']:>7.1f} ms  p95 {stats['p95_ms']:>7.1f} ms  "
        f"n={stats['count']}"
        for name, stats in ranked
    )
    return lines


def load_lines(outcome: GateOutcome) -> list[str]:
    """One line per load run: the totals and OK/FAIL against its thresholds."""
    return [
        f"load {'OK' if run['ok'] else 'FAIL'}: {run['name']}: {run['requests']} requests, "
        f"{run['rps']:.1f} req/s, {run['failure_rate']:.2f}% failed, "
        f"p95 {run['percentiles']['p95_ms']:g} ms"
        for run in outcome.load
    ]


def verdict_lines(outcome: GateOutcome) -> list[str]:
    verdict = outcome.verdict
    return [f"STAGING GATE: {verdict.label}", *(f"  - {reason}" for reason in verdict.reasons)]
