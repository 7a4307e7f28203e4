"""Monitoring: the cache is warm enough to carry production traffic
(checklists ask for a hit rate above 60-80 %).

The value is range-checked in its declared unit first: a percent read as a ratio (45.0
meaning 45 %) would otherwise count as 4500 % and pass."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from pytest_staging import assert_status, json_at
from pytest_staging.gate import percent
from pytest_staging.manifest import Manifest
from pytest_staging.redaction import excerpt

pytestmark = pytest.mark.monitoring
UNIT_RANGES = {"ratio": 1.0, "percent": 100.0}
"""The largest hit rate each `hit_rate_unit` can express; the smallest is 0."""


def test_cache_hit_rate_meets_the_minimum(
    staging_client: httpx.Client, staging_manifest: Manifest
) -> None:
    cache = staging_manifest.monitoring.cache
    if cache is None:
        pytest.skip("monitoring.cache is not declared in the manifest")
    response = staging_client.get(cache.path)
    assert_status(response, 200)
    value = json_at(response, cache.hit_rate_field)
    unit, top = cache.hit_rate_unit, UNIT_RANGES[cache.hit_rate_unit]
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and 0 <= value <= top):  # NaN compares false, inf is above the top
        a_percent = unit == "ratio" and number and 1 < value <= UNIT_RANGES["percent"]
        hint = '; if it is a percent, set hit_rate_unit = "percent"' if a_percent else ""
        pytest.fail(
            f"GET {cache.path}: {cache.hit_rate_field} is {excerpt(repr(value), 80)}, not a "
            f'hit rate in monitoring.cache.hit_rate_unit = "{unit}" (a number from 0 to '
            f"{top:g}){hint}",
            pytrace=False,
        )
    rate = exact(value) * (100 if unit == "ratio" else 1)
    if rate < exact(cache.min_hit_rate):
        minimum = cache.min_hit_rate
        pytest.fail(
            f"GET {cache.path}: cache hit rate {percent(float(rate), minimum)} is below "
            f"monitoring.cache.min_hit_rate {percent(minimum)}",
            pytrace=False,
        )


def exact(number: float) -> Decimal:
    """A number as written (its shortest repr, as in the JSON), so that 0.57 as a ratio is
    57 %, not the 56.99999999999999 of binary floats: the minimum is met exactly."""
    return Decimal(repr(number))
