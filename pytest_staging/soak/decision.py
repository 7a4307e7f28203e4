"""The soak's verdict over all its runs: small rules over plain facts, each giving reasons.

NO-GO when any of:

- more runs failed than `max_failed_runs` (a NO-GO run, or one that left no valid report);
- the requests of all runs together failed more often than `error_rate` percent;
- a gated category's pass rate falls faster than `pass_rate_drop_per_hour` points per hour;
- a request's p95 grows faster than `p95_growth_per_hour` percent per hour, by more than
  `p95_noise_ms` in all (only runs where it rests on `p95_min_requests` requests count);
- the memory series grows faster than `memory_growth_per_hour` percent per hour, or the CPU
  use derived from the CPU series rises faster than `cpu_growth_per_hour` points per hour,
  or a declared series could not be read;
- no run finished at all (a soak never passes vacuously).

A trend breaks its limit only when the confidence interval of its Theil-Sen slope lies
wholly beyond it (`trends`). A trend with too few points or too short a span is not
judged: the notes say which and why, and it never makes a NO-GO.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_staging.gate import percent
from pytest_staging.soak.trends import (
    HOUR_S,
    SIGNIFICANCE,
    Trend,
    confidence,
    judged,
    min_points,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from pytest_staging.manifest.records import Soak
    from pytest_staging.soak.facts import RunFacts
    from pytest_staging.soak.metrics import Sample
    from pytest_staging.soak.trends import Direction, Unit


@dataclass(frozen=True)
class SoakVerdict:
    go: bool
    reasons: tuple[str, ...]
    notes: tuple[str, ...]
    trends: tuple[Trend, ...]
    requests: int
    request_errors: int

    @property
    def label(self) -> str:
        return "GO" if self.go else "NO-GO"


@dataclass
class _Findings:
    reasons: list[str]
    notes: list[str]
    trends: list[Trend]


def decide(runs: Sequence[RunFacts], samples: Mapping[int, Sample], limits: Soak) -> SoakVerdict:
    """The verdict on the runs so far (a provisional one while the soak goes on)."""
    found = _Findings([], [], [])
    finished = [run for run in runs if run.status == "finished"]
    missed = [run.run for run in runs if run.status == "missed"]
    if not finished:
        found.reasons.append("no run finished: a soak never passes without runs")
    if missed:
        found.notes.append(
            f"run(s) {_listed(missed)} missed: their time passed while the soak was stopped "
            "or an earlier run overran"
        )
    if len({run.target_url for run in finished if run.target_url}) > 1:
        found.notes.append("the target URL changed between runs: trends compare different targets")
    _failed_runs(finished, limits, found)
    requests, errors = _error_rate(finished, limits, found)
    _pass_rates(finished, limits, found)
    _p95(finished, limits, found)
    _memory(finished, samples, limits, found)
    _cpu(finished, samples, limits, found)
    rated = [trend for trend in found.trends if trend.ok is not None]
    if rated and max(trend.span_s for trend in rated) < HOUR_S:
        found.notes.append(
            "the soak spans less than an hour: each trend is judged on its whole change "
            "against the limit per hour"
        )
    found.notes.extend(not_judged(found.trends))
    return SoakVerdict(
        go=not found.reasons,
        reasons=tuple(found.reasons),
        notes=tuple(found.notes),
        trends=tuple(found.trends),
        requests=requests,
        request_errors=errors,
    )


def _failed_runs(finished: Sequence[RunFacts], limits: Soak, found: _Findings) -> None:
    failed = [run for run in finished if run.failed_run]
    if len(failed) > limits.max_failed_runs:
        each = "; ".join(f"run {run.run} {run.label}: {run.why}" for run in failed)
        found.reasons.append(
            f"failed runs: {len(failed)} of {len(finished)} (at most {limits.max_failed_runs} "
            f"allowed): {each}"
        )


def _error_rate(finished: Sequence[RunFacts], limits: Soak, found: _Findings) -> tuple[int, int]:
    stats = [stats for run in finished for stats in run.latency.values()]
    requests = sum(s.count for s in stats)
    errors = sum(s.errors for s in stats)
    if not requests:
        if finished:
            found.notes.append("no request was recorded in any run: no error rate")
        return 0, 0
    rate = errors / requests * 100
    if rate > limits.error_rate:
        found.reasons.append(
            f"error rate: {errors} of {requests} requests failed across {len(finished)} runs "
            f"({percent(rate, limits.error_rate, fails_above=True)}), "
            f"limit {percent(limits.error_rate)}"
        )
    return requests, errors


def _pass_rates(finished: Sequence[RunFacts], limits: Soak, found: _Findings) -> None:
    names = sorted({name for run in finished for name in run.pass_rates})
    for name in names:
        points = [(run.at, run.pass_rates[name]) for run in finished if name in run.pass_rates]
        limit = limits.pass_rate_drop_per_hour
        trend = _trend("pass rate", name, points, limit, unit="points/h", direction="drop")
        found.trends.append(trend)
        if trend.ok is False:
            first, last = trend.points[0][1], trend.points[-1][1]
            found.reasons.append(
                f"pass rate: {name}: {_estimate(trend)} over {len(points)} runs "
                f"({percent(first)} -> {percent(last)}), limit a drop of "
                f"{limits.pass_rate_drop_per_hour:g} points/h"
            )


def _p95(finished: Sequence[RunFacts], limits: Soak, found: _Findings) -> None:
    """A request enters only with enough requests in enough runs: the p95 of a few requests
    is only the slowest of them, and a trend of it is noise."""
    names = sorted({name for run in finished for name in run.latency})
    runs_needed = min(min_points(SIGNIFICANCE), len(finished))
    too_few = []
    for name in names:
        points = [
            (run.at, run.latency[name].p95_ms)
            for run in finished
            if name in run.latency and run.latency[name].count >= limits.p95_min_requests
        ]
        if len(points) < runs_needed:
            too_few.append(name)
            continue
        limit = limits.p95_growth_per_hour
        trend = _trend("p95", name, points, limit, unit="%/h", noise=limits.p95_noise_ms)
        found.trends.append(trend)
        if trend.ok is False:
            found.reasons.append(
                f"p95 drift: {name}: {_estimate(trend)} over {len(points)} runs "
                f"({trend.points[0][1]:.1f} ms -> {trend.points[-1][1]:.1f} ms), "
                f"limit {limit:g}%/h"
            )
    if too_few:
        found.notes.append(
            f"p95 drift not judged for {len(too_few)} request name(s) with fewer than "
            f"{limits.p95_min_requests} requests in {runs_needed} runs "
            f"(e.g. {too_few[0]}): a p95 of a few requests is only the slowest of them"
        )


def _series_values(
    finished: Sequence[RunFacts], samples: Mapping[int, Sample], series: str, found: _Findings
) -> list[tuple[datetime, float]]:
    """The series' value after each finished run; a sample without it is a reason."""
    values, unread = [], []
    for run in finished:
        sample = samples.get(run.run)
        if sample is not None and series in sample.values:
            values.append((sample.at, sample.values[series]))
        else:
            problem = sample.problems[0] if sample and sample.problems else "no sample was taken"
            unread.append((run.run, problem))
    if unread:
        found.reasons.append(
            f"{series} could not be read after run(s) {_listed([run for run, _ in unread])}: "
            f"{unread[0][1]}"
        )
    return values


def _memory(
    finished: Sequence[RunFacts], samples: Mapping[int, Sample], limits: Soak, found: _Findings
) -> None:
    if limits.memory_series is None or not finished:
        return
    points = _series_values(finished, samples, limits.memory_series, found)
    trend = _trend(
        "memory", limits.memory_series, points, limits.memory_growth_per_hour, unit="%/h"
    )
    found.trends.append(trend)
    if trend.ok is False:
        found.reasons.append(
            f"memory: {limits.memory_series}: {_estimate(trend)} over {len(points)} samples "
            f"({_bytes(trend.points[0][1])} -> {_bytes(trend.points[-1][1])}), "
            f"limit {limits.memory_growth_per_hour:g}%/h"
        )


def _cpu(
    finished: Sequence[RunFacts], samples: Mapping[int, Sample], limits: Soak, found: _Findings
) -> None:
    """CPU use between two samples, in percent of one core, from a counter of CPU seconds."""
    if limits.cpu_series is None or not finished:
        return
    counter = _series_values(finished, samples, limits.cpu_series, found)
    use, resets = [], 0
    for (before, spent_before), (after, spent_after) in itertools.pairwise(counter):
        wall = (after - before).total_seconds()
        if spent_after < spent_before or wall <= 0:
            resets += 1  # a restarted target starts its counter again
            continue
        use.append((before + (after - before) / 2, (spent_after - spent_before) / wall * 100))
    if resets:
        found.notes.append(
            f"{limits.cpu_series} went back {resets} time(s) (the target restarted?): "
            "those intervals are left out"
        )
    trend = _trend("cpu", limits.cpu_series, use, limits.cpu_growth_per_hour, unit="points/h")
    found.trends.append(trend)
    if trend.ok is False:
        found.reasons.append(
            f"cpu: use from {limits.cpu_series}: {_estimate(trend)} over {len(use)} intervals "
            f"({trend.points[0][1]:.1f}% -> {trend.points[-1][1]:.1f}% of one core), "
            f"limit {limits.cpu_growth_per_hour:g} points/h"
        )


def _trend(
    kind: str,
    name: str,
    points: Sequence[tuple[datetime | None, float]],
    limit: float,
    *,
    unit: Unit,
    direction: Direction = "growth",
    noise: float = 0.0,
) -> Trend:
    timed = [(at, value) for at, value in points if at is not None]
    return judged(kind, name, timed, limit, unit=unit, direction=direction, noise=noise)


def _estimate(trend: Trend) -> str:
    """`+12.5%/h (95% CI +8.0% to +17.0%)`: a drift is always shown with its interval."""
    return f"{trend.shown_rate} ({confidence()} CI {trend.shown_interval})"


def not_judged(trends: Sequence[Trend]) -> list[str]:
    """One note per reason, naming the trends it kept from a verdict."""
    by_reason: dict[str, list[str]] = {}
    for trend in trends:
        if trend.not_judged is not None:
            by_reason.setdefault(trend.not_judged, []).append(f"{trend.kind} {trend.name}")
    return [f"not judged ({reason}): {', '.join(names)}" for reason, names in by_reason.items()]


def _listed(runs: Sequence[int]) -> str:
    return ", ".join(str(run) for run in runs)


def _bytes(value: float) -> str:
    return f"{value / 1024 / 1024:.1f} MiB"
