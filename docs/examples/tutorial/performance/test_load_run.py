import pytest


@pytest.mark.performance
def test_item_list_holds_under_load(staging_load):
    result = staging_load.run(
        tasks=["/api/items", "/health"],
        users=5,
        duration="2s",
        p95_ms=300,
        error_rate=1,
    )
    assert result.requests > 0
