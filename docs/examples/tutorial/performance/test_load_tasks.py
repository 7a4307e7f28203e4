import pytest

from pytest_staging.load.plan import LoadTask

ITEMS = LoadTask("/api/items?per_page=5", name="GET a page of items", weight=3)
HEALTH = LoadTask("/health")


@pytest.mark.performance
def test_items_and_health_under_load(staging_load):
    staging_load.run(tasks=[ITEMS, HEALTH], users=4, duration="2s", label="items and health")
