import pytest

from pytest_staging import assert_envelope, assert_status, json_at

ITEM = {
    "type": "object",
    "required": ["id", "name", "price"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "price": {"type": "number", "minimum": 0},
    },
}


@pytest.mark.smoke
@pytest.mark.critical
def test_health_answers_its_status(staging_client, staging_manifest):
    health = staging_manifest.health
    assert_status(staging_client.get(health.path), health.statuses)


@pytest.mark.integration
def test_an_item_matches_its_schema(staging_client):
    response = staging_client.get("/api/items/3")
    assert_status(response, 200)
    item = assert_envelope(response, data_schema=ITEM)
    assert item["id"] == 3


@pytest.mark.security
def test_creating_needs_a_login(staging_anonymous_client):
    response = staging_anonymous_client.post("/api/items", json={"name": "x", "price": 1})
    assert_status(response, {401, 403})


@pytest.mark.security
def test_errors_do_not_leak_internals(staging_client):
    response = staging_client.get("/api/items/999999")
    assert_status(response, 404)
    assert json_at(response, "/error/code") == "not_found"


@pytest.mark.integration
@pytest.mark.destructive
def test_a_new_item_can_be_read_back(staging_auth_client, new_item):
    response = staging_auth_client.get(f"/api/items/{new_item['id']}")
    assert_status(response, 200)
    assert assert_envelope(response)["name"] == "gate check"
