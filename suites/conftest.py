"""Shared by the bundled suites: cases from the manifest, and the client an endpoint needs."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from pytest_staging.suite_cases import parametrize


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "runs_last: run after the other bundled checks.")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize(metafunc)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `runs_last` (the rate-limit probe) go to the end, so the limit they
    provoke cannot turn away the logins of other checks in the same process. Under xdist
    the probe should use a key the service limits on its own, such as its own username."""
    items.sort(key=lambda item: item.get_closest_marker("runs_last") is not None)


@pytest.fixture(scope="session")
def client_for(
    request: pytest.FixtureRequest, staging_client: httpx.Client
) -> Callable[[bool], httpx.Client]:
    """The session client, or the authenticated one for what the manifest marks `auth = true`
    (logging in only when a test needs it). Session-scoped: one fixture set-up for the run,
    not one per check."""

    def pick(needs_auth: bool) -> httpx.Client:
        if needs_auth:
            client: httpx.Client = request.getfixturevalue("staging_auth_client")
            return client
        return staging_client

    return pick
