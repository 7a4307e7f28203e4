"""Trends over time: the Theil-Sen slope of the points, its confidence interval, the verdict.

The slope is the median of the slopes between every two points (Theil 1950, Sen 1968): one
slow run among twelve, or a warm-up step before the service settles, does not move it at
all, while twelve runs each slower than the one before move it fully. Its confidence
interval comes from the variance of the Mann-Kendall statistic, ties counted (Sen 1968;
Gilbert 1987, *Statistical Methods for Environmental Pollution Monitoring*, 16.5.1). A
trend breaks its limit only when the whole interval lies beyond the limit, so a service
whose true drift is at the limit is called drifting at most `SIGNIFICANCE / 2` of the
time, and three noisy runs (whose interval has no bounds) never are.

Below `min_points()` points or a span of `MIN_SPAN_S` a trend is *not judged*, with the
reason, as a p95 of too few requests is: the rate is still shown, never turned into a
verdict.

The change is in the limit's unit: percent of the line's value at the first point (`%/h`)
for memory and p95, percentage points (`points/h`) for CPU use and pass rates. Per hour
means the change the line shows over one hour of soak, or over the whole soak when it is
shorter than an hour: a soak of half an hour is judged on its whole change, never on that
change doubled. A change smaller than the trend's noise floor, in the series' own unit, is
never a drift either.

Written from the formulas rather than taken from a library: scipy's `theilslopes` builds
the same interval but brings numpy and scipy (tens of megabytes) for forty lines, and
pymannkendall needs both as well.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pytest_staging.durations import shown

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

Unit = Literal["%/h", "points/h"]
Direction = Literal["growth", "drop"]
HOUR_S = 3600.0
MIN_SPAN_S = 600.0
"""A trend is judged only over at least this span, first point to last. Over less, what
looks like a drift is as likely a start-up transient (caches, pools and allocator arenas
filling) as a leak, and a limit per hour says little about a few seconds."""
SPAN_SLACK = 0.05
"""The part of `MIN_SPAN_S` a trend may fall short by: the points of a soak planned over
exactly the minimum span start (or are sampled) seconds off their planned times, as the
first run is slower than the last; they are judged all the same."""
SIGNIFICANCE = 0.05
"""The confidence interval of a slope covers the true slope with probability 1 - this
(two-sided); a trend is a drift only when the interval lies wholly beyond the limit."""


@dataclass(frozen=True)
class Fit:
    slope: float
    """The Theil-Sen slope: the median of the slopes between every two points."""
    start: float
    """The line's value at x = 0: the median of y - slope * x."""
    interval: tuple[float, float] | None
    """The slope's confidence interval; None when the points are too few for it to have
    bounds (at 5 %, with fewer than 6 points and no ties)."""


def pair_slopes(points: Sequence[tuple[float, float]]) -> list[float]:
    """The slopes between every two points with different x, sorted."""
    return sorted(
        (y2 - y1) / (x2 - x1)
        for (x1, y1), (x2, y2) in itertools.combinations(points, 2)
        if x2 != x1
    )


def kendall_variance(points: Sequence[tuple[float, float]]) -> float:
    """The variance of the Mann-Kendall statistic S without a trend, less the ties among
    the x and among the y (Sen 1968, eq. 2.6)."""

    def ties(values: Sequence[float]) -> int:
        return sum(t * (t - 1) * (2 * t + 5) for t in Counter(values).values())

    n = len(points)
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return (n * (n - 1) * (2 * n + 5) - ties(xs) - ties(ys)) / 18


def _lower_rank(pairs: int, variance: float, significance: float) -> int:
    """The 1-based rank, among the sorted pair slopes, of the interval's lower bound
    (Gilbert's M1 = (N - C) / 2, rounded down: the interval is never narrower than the
    normal approximation says)."""
    spread = statistics.NormalDist().inv_cdf(1 - significance / 2) * math.sqrt(variance)
    return math.floor((pairs - spread) / 2)


def theil_sen(points: Sequence[tuple[float, float]], significance: float) -> Fit | None:
    """The line through `points` (x, y) and its slope's interval; None without two
    different x."""
    slopes = pair_slopes(points)
    if not slopes:
        return None
    slope = statistics.median(slopes)
    start = statistics.median(y - slope * x for x, y in points)
    rank = _lower_rank(len(slopes), kendall_variance(points), significance)
    interval = (slopes[rank - 1], slopes[len(slopes) - rank]) if rank >= 1 else None
    return Fit(slope, start, interval)


@functools.cache
def min_points(significance: float) -> int:
    """The fewest points whose slope interval has bounds at `significance`, without ties:
    6 at 5 %, 5 at 10 %, 7 at 1 %."""
    n = 2
    while _lower_rank(n * (n - 1) // 2, n * (n - 1) * (2 * n + 5) / 18, significance) < 1:
        n += 1
    return n


def confidence(significance: float = SIGNIFICANCE) -> str:
    """`95%`: the confidence level of the intervals, as the summary names it."""
    return f"{(1 - significance) * 100:g}%"


@dataclass(frozen=True)
class Trend:
    """One series judged against its limit."""

    kind: str
    """What is measured: `memory`, `cpu`, `p95`, `pass rate`."""
    name: str
    """Which one: the series, the request name, the category."""
    points: tuple[tuple[datetime, float], ...]
    per_hour: float | None
    """The line's change over one hour (or over the whole soak, if shorter), in `unit`;
    None when there is no line (fewer than two points)."""
    limit: float
    unit: Unit
    direction: Direction = "growth"
    """`growth`: rising more than the limit fails; `drop`: falling more does."""
    interval: tuple[float, float] | None = None
    """`per_hour`'s confidence interval; None when not judged, or without bounds."""
    not_judged: str | None = None
    """Why the trend is not judged (too few points, too short a span); None when it is."""
    within_noise: bool = False
    """The line's whole change is under the noise floor: not a drift, whatever the rate."""

    def _beyond(self, rate: float | None) -> bool:
        if rate is None:
            return False
        return -rate > self.limit if self.direction == "drop" else rate > self.limit

    @property
    def over_limit(self) -> bool:
        """The rate alone breaks the limit (significance and the noise floor aside)."""
        return self._beyond(self.per_hour)

    @property
    def significant(self) -> bool:
        """The whole confidence interval lies beyond the limit."""
        if self.interval is None:
            return False
        return self._beyond(self.interval[0] if self.direction == "growth" else self.interval[1])

    @property
    def ok(self) -> bool | None:
        """None when not judged; False for a drift: significant and above the noise floor."""
        if self.not_judged is not None:
            return None
        return self.within_noise or not self.significant

    @property
    def result(self) -> str:
        if self.not_judged is not None:
            return "not judged"
        if self.significant:
            return "OK (noise)" if self.within_noise else "FAIL"
        return "OK (not significant)" if self.over_limit else "OK"

    @property
    def span_s(self) -> float:
        if len(self.points) < 2:
            return 0.0
        return (self.points[-1][0] - self.points[0][0]).total_seconds()

    def _number(self, rate: float) -> str:
        return f"{rate:+.1f}{'%' if self.unit == '%/h' else ' points'}"

    @property
    def shown_rate(self) -> str:
        """`+12.5%/h`, `-3.0 points/h`, `+40.0% in 30m` (a soak under an hour) or `-`."""
        if self.per_hour is None:
            return "-"
        if self.span_s < HOUR_S:
            return f"{self._number(self.per_hour)} in {shown(self.span_s)}"
        return f"{self._number(self.per_hour)}/h"

    @property
    def shown_interval(self) -> str:
        """`+8.0% to +17.0%`, or `-` when there is none."""
        if self.interval is None:
            return "-"
        low, high = self.interval
        return f"{self._number(low)} to {self._number(high)}"


def judged(
    kind: str,
    name: str,
    points: Sequence[tuple[datetime, float]],
    limit: float,
    *,
    unit: Unit,
    direction: Direction = "growth",
    noise: float = 0.0,
    min_span_s: float = MIN_SPAN_S,
    significance: float = SIGNIFICANCE,
) -> Trend:
    """The trend of `points` against `limit`; `noise` is the floor in the points' unit."""
    ordered = tuple(sorted(points))
    base = Trend(kind, name, ordered, None, limit, unit, direction)
    span_s = base.span_s
    shortfall = _shortfall(len(ordered), span_s, min_span_s, significance)
    fit = theil_sen([(_hours(at, ordered), value) for at, value in ordered], significance)
    if fit is None:
        return dataclasses.replace(base, not_judged=shortfall or "all points at one time")
    if unit == "%/h" and fit.start <= 0:
        why = f"the line starts at {fit.start:g}, and a growth in percent needs a start above 0"
        return dataclasses.replace(base, not_judged=shortfall or why)
    scale = min(1.0, span_s / HOUR_S) * (100 / fit.start if unit == "%/h" else 1.0)
    interval = None
    if fit.interval is not None and shortfall is None:
        interval = (fit.interval[0] * scale, fit.interval[1] * scale)
    return dataclasses.replace(
        base,
        per_hour=fit.slope * scale,
        interval=interval,
        not_judged=shortfall,
        within_noise=abs(fit.slope * span_s / HOUR_S) < noise,
    )


def _hours(at: datetime, ordered: Sequence[tuple[datetime, float]]) -> float:
    """Hours from the first point to `at`: the x of the line."""
    return (at - ordered[0][0]).total_seconds() / HOUR_S


def _shortfall(count: int, span_s: float, min_span_s: float, significance: float) -> str | None:
    """Why `count` points over `span_s` are not enough for a verdict; None when they are."""
    needed = min_points(significance)
    parts = []
    if count < needed:
        parts.append(f"{count} point{'' if count == 1 else 's'}, {needed} needed")
    if span_s < min_span_s * (1 - SPAN_SLACK):
        parts.append(f"a span of {shown(span_s)}, {shown(min_span_s)} needed")
    return "; ".join(parts) or None
