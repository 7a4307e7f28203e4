"""Integration: a paginated list's numbers agree with each other and with its items."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from pytest_staging import assert_status, json_at
from pytest_staging.manifest import Endpoint
from pytest_staging.run.suite_cases import send

pytestmark = pytest.mark.integration


def test_pagination_meta_is_consistent(
    client_for: Callable[[bool], httpx.Client], paginated_endpoint: Endpoint
) -> None:
    endpoint = paginated_endpoint
    pages = endpoint.pagination
    assert pages is not None
    response = send(client_for(endpoint.auth), endpoint)
    assert_status(response, endpoint.statuses)
    items, total = json_at(response, pages.items), json_at(response, pages.total)
    where = f"{endpoint.label}:"
    assert isinstance(items, list), f"{where} {pages.items} is not a list"
    assert isinstance(total, int), f"{where} {pages.total} is not a count"
    assert total >= 0, f"{where} {pages.total} is negative"
    assert len(items) <= total, f"{where} {len(items)} items but {pages.total} = {total}"
    if pages.per_page is None:
        return
    per_page = json_at(response, pages.per_page)
    page = json_at(response, pages.page) if pages.page else 1
    assert isinstance(per_page, int), f"{where} {pages.per_page} is not a count"
    assert per_page > 0, f"{where} {pages.per_page} is not positive"
    expected = max(0, min(per_page, total - (page - 1) * per_page))
    assert len(items) == expected, (
        f"{where} page {page} of {per_page} with {pages.total} = {total} should hold "
        f"{expected} items, holds {len(items)}"
    )
