"""Smoke: authentication rejects what it must (bad credentials, missing credentials)."""

from __future__ import annotations

import httpx
import pytest

from pytest_staging import assert_envelope, assert_status

LOGIN_PATH = "/api/auth/login"
PROTECTED_PATH = "/api/auth/me"
WRONG_CREDENTIALS = {"username": "pytest-staging-smoke", "password": "certainly-wrong"}


@pytest.mark.smoke
@pytest.mark.security
def test_bad_credentials_are_rejected_with_401(staging_client: httpx.Client) -> None:
    response = staging_client.post(LOGIN_PATH, json=WRONG_CREDENTIALS)
    assert_status(response, 401)
    assert_envelope(response)


@pytest.mark.smoke
@pytest.mark.security
def test_protected_endpoint_refuses_anonymous_requests(
    staging_anonymous_client: httpx.Client,
) -> None:
    assert_status(staging_anonymous_client.get(PROTECTED_PATH), {401, 403})
