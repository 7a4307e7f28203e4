import pytest


@pytest.mark.performance
def test_item_list_is_fast(staging_latency):
    result = staging_latency.sample("/api/items", params={"per_page": 10})
    staging_latency.assert_within(result, p95_ms=200, error_rate=0)


@pytest.mark.performance
def test_my_account_is_fast(staging_latency, staging_auth_client):
    result = staging_latency.sample("/api/auth/me", client=staging_auth_client, samples=10)
    staging_latency.assert_within(result, p95_ms=300, max_ms=1000)
