"""Smoke: the key endpoints answer with their expected status and the response envelope."""

from __future__ import annotations

import httpx
import pytest

from pytest_staging import assert_envelope, assert_status

KEY_ENDPOINTS = ("/api/items", "/api/items/1", "/api/cache/stats")
MISSING_ITEM = "/api/items/999999"


@pytest.mark.smoke
@pytest.mark.parametrize("path", KEY_ENDPOINTS, ids=lambda path: f"GET {path}")
def test_key_endpoint_answers_200(staging_client: httpx.Client, path: str) -> None:
    assert_status(staging_client.get(path), 200)


@pytest.mark.smoke
@pytest.mark.parametrize("path", KEY_ENDPOINTS, ids=lambda path: f"GET {path}")
def test_key_endpoint_keeps_the_envelope(staging_client: httpx.Client, path: str) -> None:
    assert_envelope(staging_client.get(path))


@pytest.mark.smoke
def test_unknown_item_is_404_in_an_envelope(staging_client: httpx.Client) -> None:
    response = staging_client.get(MISSING_ITEM)
    assert_status(response, 404)
    assert_envelope(response)
    assert response.json()["success"] is False
