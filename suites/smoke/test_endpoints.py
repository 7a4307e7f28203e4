"""Smoke: every declared endpoint answers with its status, in the envelope where declared.

Each test falls in the category its endpoint declares (default smoke).
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from pytest_staging import assert_envelope, assert_status
from pytest_staging.manifest import Endpoint, Manifest
from pytest_staging.run.suite_cases import send


def test_endpoint_answers_with_its_status(
    client_for: Callable[[bool], httpx.Client], endpoint: Endpoint
) -> None:
    response = send(client_for(endpoint.auth), endpoint)
    assert_status(response, endpoint.statuses)


def test_endpoint_keeps_the_envelope(
    client_for: Callable[[bool], httpx.Client],
    enveloped_endpoint: Endpoint,
    staging_manifest: Manifest,
) -> None:
    response = send(client_for(enveloped_endpoint.auth), enveloped_endpoint)
    assert_envelope(response, envelope_schema=staging_manifest.envelope_schema)
