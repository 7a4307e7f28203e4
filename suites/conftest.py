"""Shared by the bundled suites: cases from the manifest, the client an endpoint needs, and
whether the HTTPS checks apply to the target."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest

from pytest_staging import StagingTarget
from pytest_staging.manifest import Manifest
from pytest_staging.run.suite_cases import parametrize
from pytest_staging.settings import StagingSettings


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


@pytest.fixture(scope="session")
def require_https(
    staging_target: StagingTarget, staging_settings: StagingSettings, staging_manifest: Manifest
) -> Callable[[], None]:
    """Called first in every HTTPS check: on an `https://` target it returns. On plain HTTP
    the check fails when `[security] https` requires HTTPS (a plain-HTTP production must never
    GO on security), and is skipped otherwise, with one reason the gate can group by.
    A call in the test body, not a fixture's set-up, so the check *fails* rather than errors."""
    if urlsplit(staging_target.url).scheme == "https":
        return lambda: None
    security = staging_manifest.security
    if not security.requires_https(staging_settings.sensitive):
        reason = https_skipped(security.https, staging_settings.environment)
        return lambda: pytest.skip(reason)
    if security.https is None:
        why = (
            '[security] https is "required" by default on the sensitive environment '
            f"{staging_settings.sensitive_environment!r}"
        )
    else:
        why = '[security] https = "required"'
    problem = (
        f"{staging_target.url} is plain HTTP and {why}: serve the service over https://, "
        'or set [security] https = "optional"'
    )
    return lambda: pytest.fail(problem, pytrace=False)


def https_skipped(https: str | None, environment: str) -> str:
    """The one reason of every skipped HTTPS check (the gate lists them under it, cut at 200
    characters): what made HTTPS optional, the manifest's word or the default for an environment
    not marked sensitive, and the key that would require it."""
    if https is not None:
        return f'the target is plain HTTP and [security] https = "{https}": HTTPS checks skipped'
    return (
        "the target is plain HTTP, [security] https is not set, and environment "
        f"{environment!r} is not marked sensitive: HTTPS checks skipped (to require HTTPS, "
        'set [security] https = "required")'
    )
