"""Monitoring: `/metrics` is valid Prometheus text and exposes the series dashboards
and alerts are built on."""

from __future__ import annotations

import httpx
import pytest

from pytest_staging import assert_status
from pytest_staging.manifest import Manifest
from pytest_staging.redaction import excerpt

pytestmark = pytest.mark.monitoring


@pytest.fixture(scope="module")
def exposed(staging_client: httpx.Client, staging_manifest: Manifest) -> set[str]:
    """Every family and sample name the metrics endpoint exposes."""
    from prometheus_client.parser import text_string_to_metric_families

    path = staging_manifest.monitoring.metrics_path
    if path is None:
        pytest.skip("monitoring.metrics_path is not declared in the manifest")
    response = staging_client.get(path)
    assert_status(response, 200)
    names: set[str] = set()
    try:
        for family in text_string_to_metric_families(response.text):
            names.add(family.name)
            names.update(sample.name for sample in family.samples)
    except ValueError as exc:
        problem = f"GET {path} is not Prometheus text: {exc}: {excerpt(response.text, 200)}"
        raise pytest.fail.Exception(problem, pytrace=False) from None
    return names


def test_metrics_parse_as_prometheus_text(exposed: set[str]) -> None:
    assert exposed, "the metrics endpoint exposes no series at all"


def test_declared_series_are_exposed(exposed: set[str], staging_manifest: Manifest) -> None:
    declared = staging_manifest.monitoring.series
    if not declared:
        pytest.skip("monitoring.series is not declared in the manifest")
    missing = [name for name in declared if name not in exposed]
    assert not missing, f"series missing from the metrics endpoint: {', '.join(missing)}"
