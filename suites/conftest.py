"""Shared by the bundled suites: cases from the manifest, and the client an endpoint needs."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from pytest_staging.suite_cases import parametrize


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize(metafunc)


@pytest.fixture
def client_for(
    request: pytest.FixtureRequest, staging_client: httpx.Client
) -> Callable[[bool], httpx.Client]:
    """The session client, or the authenticated one for what the manifest marks `auth = true`
    (logging in only when a test needs it)."""

    def pick(needs_auth: bool) -> httpx.Client:
        if needs_auth:
            client: httpx.Client = request.getfixturevalue("staging_auth_client")
            return client
        return staging_client

    return pick
