"""The fixtures users' tests ask for: the target and the session's HTTP clients."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest

from pytest_staging.recording import LOG_KEY
from pytest_staging.settings import SETTINGS_KEY
from pytest_staging.target import NO_TARGET_MESSAGE, StagingTarget

if TYPE_CHECKING:
    from collections.abc import Iterator

    import httpx


@pytest.fixture(scope="session")
def staging_target(pytestconfig: pytest.Config) -> StagingTarget:
    """The configured target; fails with how to configure one when there is none."""
    settings = pytestconfig.stash.get(SETTINGS_KEY, None)
    if settings is None or settings.url is None:
        pytest.fail(NO_TARGET_MESSAGE, pytrace=False)
    return StagingTarget.from_url(settings.url, settings.environment)


@pytest.fixture(scope="session")
def staging_client(
    pytestconfig: pytest.Config, staging_target: StagingTarget
) -> Iterator[httpx.Client]:
    """One `httpx.Client` for the session: base URL, timeout, TLS, auth; every request timed."""
    from pytest_staging.client import build_client

    settings = pytestconfig.stash[SETTINGS_KEY]
    with build_client(settings, staging_target, pytestconfig.stash[LOG_KEY]) as client:
        yield client


@pytest.fixture(scope="session")
def staging_anonymous_client(
    pytestconfig: pytest.Config, staging_target: StagingTarget
) -> Iterator[httpx.Client]:
    """Like `staging_client` (TLS, timeout, timing) but with no credentials at all: no token,
    no extra headers, no user:password from the URL; for "is this really protected?" checks."""
    from pytest_staging.client import build_client

    settings = dataclasses.replace(pytestconfig.stash[SETTINGS_KEY], token=None, headers=())
    anonymous = dataclasses.replace(staging_target, username=None, password=None)
    with build_client(settings, anonymous, pytestconfig.stash[LOG_KEY]) as client:
        yield client
