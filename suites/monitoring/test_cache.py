"""Monitoring: the cache is warm enough to carry production traffic
(checklists ask for a hit rate above 60-80 %)."""

from __future__ import annotations

import httpx
import pytest

from pytest_staging import assert_status, json_at
from pytest_staging.manifest import Manifest

pytestmark = pytest.mark.monitoring


def test_cache_hit_rate_meets_the_minimum(
    staging_client: httpx.Client, staging_manifest: Manifest
) -> None:
    cache = staging_manifest.monitoring.cache
    if cache is None:
        pytest.skip("monitoring.cache is not declared in the manifest")
    response = staging_client.get(cache.path)
    assert_status(response, 200)
    value = json_at(response, cache.hit_rate_field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        pytest.fail(f"GET {cache.path}: {cache.hit_rate_field} is {value!r}, not a number")
    percent = value * 100 if cache.hit_rate_unit == "ratio" else value
    assert percent >= cache.min_hit_rate, (
        f"GET {cache.path}: cache hit rate {percent:.1f} % is below "
        f"monitoring.cache.min_hit_rate {cache.min_hit_rate:g} %"
    )
