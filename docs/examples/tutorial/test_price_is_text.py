import pytest

from pytest_staging import assert_envelope, assert_status

PRICED_AS_TEXT = {
    "type": "object",
    "required": ["price"],
    "properties": {"price": {"type": "string"}},
}


@pytest.mark.integration
def test_price_is_text(staging_client):
    response = staging_client.get("/api/items/3")
    assert_status(response, 200)
    assert_envelope(response, data_schema=PRICED_AS_TEXT)
