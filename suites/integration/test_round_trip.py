"""Integration: data written through the API can be read back and deleted (destructive)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from pytest_staging import assert_status, json_at
from pytest_staging.manifest import Resource

pytestmark = pytest.mark.integration


def test_create_read_delete_round_trip(
    client_for: Callable[[bool], httpx.Client], resource: Resource
) -> None:
    client = client_for(resource.auth)
    created = client.post(resource.path, json=resource.create)
    assert_status(created, resource.create_statuses)
    item_path = resource.item_path.replace("{id}", str(json_at(created, resource.id_field)))
    try:
        assert_status(client.get(item_path), 200)
    finally:
        deleted = client.delete(item_path)
    assert_status(deleted, resource.delete_statuses)
    assert_status(client.get(item_path), {404, 410})
