"""Smoke: the deploy is up and says every component is healthy."""

from __future__ import annotations

import httpx
import pytest

from pytest_staging import assert_health, assert_status

HEALTH_PATH = "/health"


@pytest.mark.smoke
@pytest.mark.critical
def test_health_reports_every_component_healthy(staging_client: httpx.Client) -> None:
    response = staging_client.get(HEALTH_PATH)
    assert_status(response, 200)
    assert_health(response)
