"""Smoke: the health endpoint answers, says healthy, and so does every component."""

from __future__ import annotations

import httpx
import pytest

from pytest_staging import assert_status, json_at
from pytest_staging.assertions import component_states
from pytest_staging.manifest import Manifest
from pytest_staging.settings import StagingSettings

pytestmark = pytest.mark.smoke


@pytest.fixture(scope="module")
def health(staging_client: httpx.Client, staging_manifest: Manifest) -> httpx.Response:
    return staging_client.get(staging_manifest.health.path)


@pytest.mark.critical
def test_health_answers_with_its_status(health: httpx.Response, staging_manifest: Manifest) -> None:
    assert_status(health, staging_manifest.health.statuses)


def test_health_says_healthy(health: httpx.Response, staging_manifest: Manifest) -> None:
    spec = staging_manifest.health
    if spec.status_field is None:
        pytest.skip("health.status_field is not declared in the manifest")
    state = json_at(health, spec.status_field)
    assert state == spec.healthy_value, (
        f"GET {spec.path}: {spec.status_field} is {state!r}, expected {spec.healthy_value!r}"
    )


def test_every_component_is_healthy(health: httpx.Response, staging_manifest: Manifest) -> None:
    spec = staging_manifest.health
    if spec.components is None:
        pytest.skip("health.components is not declared in the manifest")
    states = component_states(health, spec.components)
    unhealthy = {name: state for name, state in states.items() if state != spec.healthy_value}
    assert not unhealthy, f"GET {spec.path}: components not {spec.healthy_value!r}: " + ", ".join(
        f"{name} is {state!r}" for name, state in unhealthy.items()
    )


def test_deployed_version_is_the_expected_one(
    health: httpx.Response, staging_manifest: Manifest, staging_settings: StagingSettings
) -> None:
    spec = staging_manifest.health
    if staging_settings.expect_version is None or spec.version_field is None:
        pytest.skip("pass --staging-expect-version to check the deployed version")
    version = json_at(health, spec.version_field)
    assert str(version) == staging_settings.expect_version, (
        f"GET {spec.path}: deployed version {version!r} at {spec.version_field}, "
        f"expected {staging_settings.expect_version!r}"
    )
