"""Integration: errors are answers too. A missing resource is a 404 and a bad request a
4xx, both in the envelope (`success: false`, `error` set) when the service uses one."""

from __future__ import annotations

import httpx
import pytest

from pytest_staging import assert_envelope, assert_status, json_at
from pytest_staging.manifest import Manifest
from pytest_staging.redaction import shown
from pytest_staging.run.suite_cases import send

pytestmark = pytest.mark.integration


def assert_error_envelope(response: httpx.Response, manifest: Manifest) -> None:
    __tracebackhide__ = True
    assert_envelope(response, envelope_schema=manifest.envelope_schema)
    where = f"{response.request.method} {shown(response.request.url.path)}"
    assert json_at(response, "/success") is False, f"{where}: /success must be false on an error"
    assert json_at(response, "/error"), f"{where}: /error must describe the error"


def test_unknown_resource_is_404(staging_client: httpx.Client, staging_manifest: Manifest) -> None:
    assert_status(staging_client.get(staging_manifest.not_found_path), 404)


def test_404_keeps_the_envelope(staging_client: httpx.Client, staging_manifest: Manifest) -> None:
    if not staging_manifest.uses_envelope:
        pytest.skip("the manifest declares no enveloped endpoint")
    response = staging_client.get(staging_manifest.not_found_path)
    assert_error_envelope(response, staging_manifest)


def test_bad_request_is_rejected(staging_client: httpx.Client, staging_manifest: Manifest) -> None:
    probe = staging_manifest.bad_request
    if probe is None:
        pytest.skip("errors.bad_request is not declared in the manifest")
    response = send(staging_client, probe)
    assert_status(response, probe.statuses)
    if staging_manifest.uses_envelope:
        assert_error_envelope(response, staging_manifest)
