import pytest

from pytest_staging import assert_envelope, assert_status


@pytest.fixture
def new_item(staging_auth_client):
    """An item created for one test, deleted after it."""
    created = staging_auth_client.post("/api/items", json={"name": "gate check", "price": 1.5})
    assert_status(created, 201)
    item = assert_envelope(created)
    yield item
    staging_auth_client.delete(f"/api/items/{item['id']}")
