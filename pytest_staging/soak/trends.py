"""Trends over time: a least-squares line through the points, its change per hour, the verdict.

A trend looks at every point, not only the last one: one slow run among twelve moves the
line a little, twelve runs each slower than the one before move it a lot. The change is in
the limit's unit: percent of the first value (`%/h`) for memory and p95, percentage points
(`points/h`) for CPU use and pass rates.

Per hour means the change the line shows over one hour of soak, or over the whole soak when
it is shorter than an hour: a soak of a minute is judged on its whole change, never on that
change multiplied by sixty (which would turn the jitter of a few milliseconds into a drift
of thousands of percent per hour). A change smaller than the trend's noise floor, in the
series' own unit, is never a drift either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pytest_staging.soak.durations import shown

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

Unit = Literal["%/h", "points/h"]
Direction = Literal["growth", "drop"]
HOUR_S = 3600.0


def slope(points: Sequence[tuple[float, float]]) -> float | None:
    """The least-squares slope of y over x; None for fewer than 2 points or a single x."""
    if len(points) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


@dataclass(frozen=True)
class Trend:
    """One series judged against its limit; `per_hour` is None when it cannot be judged."""

    kind: str
    """What is measured: `memory`, `cpu`, `p95`, `pass rate`."""
    name: str
    """Which one: the series, the request name, the category."""
    points: tuple[tuple[datetime, float], ...]
    per_hour: float | None
    """The change over one hour of the line (or over the whole soak, if shorter)."""
    limit: float
    unit: Unit
    direction: Direction = "growth"
    """`growth`: rising more than the limit fails; `drop`: falling more does."""
    within_noise: bool = False
    """The line's whole change is under the noise floor: not a drift, whatever the rate."""

    @property
    def over_limit(self) -> bool:
        """The rate alone breaks the limit (the noise floor aside)."""
        if self.per_hour is None:
            return False
        if self.direction == "drop":
            return -self.per_hour > self.limit
        return self.per_hour > self.limit

    @property
    def ok(self) -> bool | None:
        if self.per_hour is None:
            return None
        return self.within_noise or not self.over_limit

    @property
    def span_s(self) -> float:
        if len(self.points) < 2:
            return 0.0
        return (self.points[-1][0] - self.points[0][0]).total_seconds()

    @property
    def shown_rate(self) -> str:
        """`+12.5%/h`, `-3.0 points/h`, `+40.0% in 30s` (a soak under an hour) or `-`."""
        if self.per_hour is None:
            return "-"
        unit = "%" if self.unit == "%/h" else " points"
        if self.span_s < HOUR_S:
            return f"{self.per_hour:+.1f}{unit} in {shown(self.span_s)}"
        return f"{self.per_hour:+.1f}{unit}/h"


def judged(
    kind: str,
    name: str,
    points: Sequence[tuple[datetime, float]],
    limit: float,
    *,
    unit: Unit,
    direction: Direction = "growth",
    noise: float = 0.0,
) -> Trend:
    """The trend of `points` against `limit`; `noise` is the floor in the points' unit."""
    ordered = tuple(sorted(points))
    if len(ordered) < 2:
        return Trend(kind, name, ordered, None, limit, unit, direction)
    origin, first = ordered[0]
    span_h = (ordered[-1][0] - origin).total_seconds() / HOUR_S
    rise = slope([((at - origin).total_seconds() / HOUR_S, value) for at, value in ordered])
    if rise is None or (unit == "%/h" and first <= 0):
        return Trend(kind, name, ordered, None, limit, unit, direction)
    change = rise * min(1.0, span_h)
    per_hour = change / first * 100 if unit == "%/h" else change
    quiet = abs(rise * span_h) < noise
    return Trend(kind, name, ordered, per_hour, limit, unit, direction, within_noise=quiet)
