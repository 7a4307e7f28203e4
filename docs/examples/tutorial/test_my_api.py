import pytest

from pytest_staging import assert_envelope, assert_status


@pytest.mark.smoke
@pytest.mark.critical
def test_health_answers_200(staging_client):
    response = staging_client.get("/health")
    assert_status(response, 200)


@pytest.mark.integration
def test_the_second_page_starts_at_item_11(staging_client):
    response = staging_client.get("/api/items", params={"page": 2, "per_page": 10})
    assert_status(response, 200)
    items = assert_envelope(response)
    assert len(items) == 10
    assert items[0]["id"] == 11
