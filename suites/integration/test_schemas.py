"""Integration: every endpoint that declares a schema answers a body that matches it
(inside the envelope's `data` when the endpoint is enveloped)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from pytest_staging import assert_envelope, assert_schema, assert_status
from pytest_staging.manifest import Endpoint, Manifest
from pytest_staging.run.suite_cases import send

pytestmark = pytest.mark.integration


def test_body_matches_its_schema(
    client_for: Callable[[bool], httpx.Client],
    schema_endpoint: Endpoint,
    staging_manifest: Manifest,
) -> None:
    endpoint = schema_endpoint
    assert endpoint.schema is not None
    response = send(client_for(endpoint.auth), endpoint)
    assert_status(response, endpoint.statuses)
    if endpoint.envelope:
        assert_envelope(response, endpoint.schema, envelope_schema=staging_manifest.envelope_schema)
    else:
        assert_schema(response, endpoint.schema)
