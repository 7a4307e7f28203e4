"""The soak's trend statistics on hand-built series: Theil-Sen slope, its confidence interval
from the Mann-Kendall variance, and when a trend is judged at all (`soak/trends.py`).

The worked numbers were checked once against scipy's `theilslopes(method="joint")`, which
builds the same interval (scipy rounds the ranks to the nearest, we round them down).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from pytest_staging.soak.trends import (
    Trend,
    judged,
    kendall_variance,
    min_points,
    pair_slopes,
    theil_sen,
)

START = datetime(2026, 1, 1, tzinfo=UTC)


def series(*values: float, every_s: float = 3600.0) -> list[tuple[datetime, float]]:
    return [(START + timedelta(seconds=every_s * n), value) for n, value in enumerate(values)]


def p95(*values: float, every_s: float = 3600.0, noise: float = 0.0) -> Trend:
    return judged("p95", "GET /x", series(*values, every_s=every_s), 20, unit="%/h", noise=noise)


# --- the statistics ------------------------------------------------------------------------


def test_the_slope_is_the_median_of_the_pair_slopes_with_its_interval() -> None:
    points = list(zip((0.0, 1, 2, 3, 4, 5), (1.0, 3, 2, 5, 4, 7), strict=True))

    fit = theil_sen(points, 0.05)

    assert pair_slopes(points)[:3] == [-1.0, -1.0, pytest.approx(1 / 3)]
    assert fit is not None
    # 15 pair slopes, Var(S) = 6*5*17/18; M1 = (15 - 1.96 * 5.32) / 2 = 2.28 -> the 2nd
    # smallest and the 2nd largest slope bound the 95 % interval.
    assert (fit.slope, fit.start, fit.interval) == (1.0, 1.5, (-1.0, 3.0))


def test_ties_narrow_the_variance_of_the_kendall_statistic() -> None:
    untied = list(enumerate((100.0, 99, 98, 97, 96, 95)))
    tied = list(enumerate((100.0, 100, 100, 96, 96, 96)))

    assert kendall_variance(untied) == 6 * 5 * 17 / 18
    assert kendall_variance(tied) == (6 * 5 * 17 - 2 * 3 * 2 * 11) / 18


def test_an_interval_needs_more_points_the_surer_it_must_be() -> None:
    five = theil_sen(list(enumerate((1.0, 2, 3, 4, 5))), 0.05)
    six = theil_sen(list(enumerate((1.0, 2, 3, 4, 5, 6))), 0.05)

    assert [min_points(level) for level in (0.10, 0.05, 0.01)] == [5, 6, 7]
    assert five is not None
    assert five.interval is None
    assert six is not None
    assert six.interval == (1.0, 1.0)
    assert theil_sen([(1.0, 5.0), (1.0, 6.0)], 0.05) is None


def test_one_slow_run_or_a_warm_up_step_does_not_move_the_slope() -> None:
    one_slow = theil_sen(list(enumerate((10.0,) * 5 + (18.0,) + (10.0,) * 6)), 0.05)
    warm_up = theil_sen(list(enumerate((100.0, 106, 106, 106, 106, 106, 106))), 0.05)

    assert one_slow is not None
    assert warm_up is not None
    assert (one_slow.slope, warm_up.slope) == (0.0, 0.0)


def test_a_series_whose_true_trend_is_at_the_limit_is_rarely_called_a_drift() -> None:
    """Noise around a line rising exactly at the limit: a drift is called at most
    SIGNIFICANCE / 2 of the time (2.5 %); the normal approximation errs on the safe side."""
    rng = random.Random(15)
    for count in (6, 12):
        drifts = 0
        for _ in range(400):
            values = [100 + 20 * n + rng.gauss(0, 15) for n in range(count)]
            line = theil_sen(list(enumerate(values)), 0.05)
            drifts += line is not None and line.interval is not None and line.interval[0] > 20
        assert drifts / 400 <= 0.025, count


# --- judged or not -------------------------------------------------------------------------


def test_too_few_points_are_not_judged_but_their_rate_is_shown() -> None:
    trend = p95(10, 20, 30)

    assert trend.not_judged == "3 points, 6 needed"
    assert (trend.ok, trend.result, trend.shown_rate, trend.interval) == (
        None,
        "not judged",
        "+100.0%/h",
        None,
    )


def test_a_short_span_is_not_judged_however_steep() -> None:
    """Six samples 10 s apart of a service that leaks 12 MiB every 10 s: a leak, or a cache
    filling at start-up; under the minimum span the soak does not guess."""
    trend = judged("memory", "rss", series(62, 74, 86, 98, 110, 122, every_s=10), 5, unit="%/h")

    assert trend.not_judged == "a span of 50s, 10m needed"
    assert trend.shown_rate == "+96.8% in 50s"
    assert trend.ok is None
    assert p95(10, 20, 30, every_s=10).not_judged == "3 points, 6 needed; a span of 20s, 10m needed"


def test_a_steady_growth_over_the_limit_fails_with_its_interval() -> None:
    trend = judged("memory", "rss", series(100, 110, 120, 130, 140, 150), 5, unit="%/h")

    assert (trend.ok, trend.result) == (False, "FAIL")
    assert (trend.shown_rate, trend.shown_interval) == ("+10.0%/h", "+10.0% to +10.0%")


def test_a_rate_over_the_limit_whose_interval_includes_it_is_not_a_drift() -> None:
    trend = p95(10, 13, 16, 12, 22, 25)

    assert trend.over_limit
    assert (trend.ok, trend.result) == (True, "OK (not significant)")
    assert (trend.shown_rate, trend.shown_interval) == ("+30.0%/h", "-5.0% to +65.0%")


def test_a_significant_growth_under_the_noise_floor_is_not_a_drift() -> None:
    trend = p95(1.0, 1.5, 2.0, 2.5, 3.0, 3.5, noise=10)

    assert trend.significant
    assert (trend.ok, trend.result) == (True, "OK (noise)")


def test_a_pass_rate_is_judged_on_its_drop_in_points() -> None:
    def rates(*values: float) -> Trend:
        return judged("pass rate", "smoke", series(*values), 1, unit="points/h", direction="drop")

    assert rates(100, 98, 96, 94, 92, 90).result == "FAIL"
    assert rates(100, 98, 96, 94, 92, 90).shown_rate == "-2.0 points/h"
    assert rates(100, 100, 100, 100, 100, 90).result == "OK"


def test_a_soak_under_an_hour_is_judged_on_its_whole_change() -> None:
    """Six points over 50 minutes: the change over the 50 minutes, not over an hour."""
    trend = judged(
        "memory", "rss", series(100, 101, 102, 103, 104, 105, every_s=600), 5, unit="%/h"
    )

    assert (trend.shown_rate, trend.result) == ("+5.0% in 50m", "OK")


def test_a_span_a_little_short_of_the_minimum_is_judged() -> None:
    """Six runs planned over exactly 10 minutes: the first, cold run is slower than the last,
    so its memory sample is read later and the samples span a few seconds less."""
    values = (100.0, 100, 100, 100, 100, 100)

    assert judged("memory", "rss", series(*values, every_s=116.4), 5, unit="%/h").result == "OK"
    short = judged("memory", "rss", series(*values, every_s=112), 5, unit="%/h")
    assert short.not_judged == "a span of 9m20s, 10m needed"
