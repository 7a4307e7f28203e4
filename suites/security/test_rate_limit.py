"""Security: a declared rate limit holds; repeated requests are answered 429 before the
manifest's request count runs out."""

from __future__ import annotations

import httpx
import pytest

from pytest_staging.manifest import Manifest
from pytest_staging.run.suite_cases import send

pytestmark = [pytest.mark.security, pytest.mark.runs_last]


def test_rate_limit_answers_429(
    staging_anonymous_client: httpx.Client, staging_manifest: Manifest
) -> None:
    limit = staging_manifest.security.rate_limit
    if limit is None:
        pytest.skip("security.rate_limit is not declared in the manifest")
    statuses = []
    for _ in range(limit.requests):
        statuses.append(send(staging_anonymous_client, limit).status_code)
        if statuses[-1] == 429:
            return
    seen = ", ".join(sorted({str(status) for status in statuses}))
    pytest.fail(
        f"{limit.method} {limit.path}: no 429 in {limit.requests} requests "
        f"(security.rate_limit.requests); statuses seen: {seen}",
        pytrace=False,
    )
