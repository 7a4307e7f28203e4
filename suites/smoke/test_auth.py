"""Smoke: authentication lets the right account in and keeps everyone else out.

Runs when the manifest declares [auth]; credentials come from the
environment variables it names.
"""

from __future__ import annotations

import httpx
import pytest

from pytest_staging import assert_envelope, assert_status
from pytest_staging.http.auth import LoginFailed, credentials, login, token_from
from pytest_staging.manifest import Auth, Manifest
from pytest_staging.redaction import Secret, shown
from pytest_staging.settings import StagingSettings

pytestmark = [pytest.mark.smoke, pytest.mark.security]
WRONG_PASSWORD = Secret("pytest-staging-certainly-wrong")


@pytest.fixture(scope="module")
def auth(staging_manifest: Manifest) -> Auth:
    if staging_manifest.auth is None:
        pytest.skip("no [auth] in the manifest")
    return staging_manifest.auth


@pytest.fixture(scope="module")
def account(auth: Auth, staging_settings: StagingSettings) -> tuple[str, Secret]:
    """The test account from the variables the manifest names; a clear failure if unset."""
    try:
        return credentials(staging_settings, auth)
    except LookupError as exc:
        raise pytest.fail.Exception(f"cannot read the test account: {exc}", pytrace=False) from None


def protected_path(auth: Auth) -> str:
    if auth.protected_path is None:
        pytest.skip("auth.protected_path is not declared in the manifest")
    return auth.protected_path


def fresh_token(client: httpx.Client, auth: Auth, request: pytest.FixtureRequest) -> Secret:
    """Log in with the test account; a refused login is one clear failure."""
    answer = login(client, auth, *request.getfixturevalue("account"))
    try:
        return token_from(answer, auth)
    except LoginFailed as exc:
        raise pytest.fail.Exception(str(exc), pytrace=False) from None


def test_valid_credentials_log_in(
    auth: Auth, request: pytest.FixtureRequest, staging_anonymous_client: httpx.Client
) -> None:
    if auth.kind != "bearer-login":
        pytest.skip(f"auth.kind = {auth.kind} has no login endpoint")
    fresh_token(staging_anonymous_client, auth, request)


def test_valid_credentials_reach_the_protected_endpoint(
    auth: Auth, request: pytest.FixtureRequest
) -> None:
    path = protected_path(auth)
    # asked for here, not as an argument: session fixtures are set up before the module's
    # `auth`, and a manifest without [auth] must skip this test, not fail on logging in
    client: httpx.Client = request.getfixturevalue("staging_auth_client")
    assert_status(client.get(path), 200)


def test_bad_credentials_are_rejected_with_401(
    auth: Auth,
    request: pytest.FixtureRequest,
    staging_anonymous_client: httpx.Client,
    staging_manifest: Manifest,
) -> None:
    if auth.kind == "bearer-login":
        username, _ = request.getfixturevalue("account")
        response = login(staging_anonymous_client, auth, username, WRONG_PASSWORD)
    elif auth.kind == "basic":
        basic = httpx.BasicAuth("pytest-staging-nobody", WRONG_PASSWORD.reveal())
        response = staging_anonymous_client.get(protected_path(auth), auth=basic)
    else:
        bogus = {"Authorization": f"Bearer {WRONG_PASSWORD.reveal()}"}
        response = staging_anonymous_client.get(protected_path(auth), headers=bogus)
    if response.is_success:  # the body may carry a live token: never show it
        pytest.fail(
            f"{response.request.method} {shown(response.request.url.path)} accepted a wrong "
            f"password (status {response.status_code})",
            pytrace=False,
        )
    assert_status(response, 401)
    if staging_manifest.uses_envelope and auth.kind == "bearer-login":
        assert_envelope(response, envelope_schema=staging_manifest.envelope_schema)


def test_protected_endpoint_refuses_anonymous_requests(
    auth: Auth, staging_anonymous_client: httpx.Client
) -> None:
    assert_status(staging_anonymous_client.get(protected_path(auth)), {401, 403})


def test_logout_invalidates_the_token(
    auth: Auth, request: pytest.FixtureRequest, staging_anonymous_client: httpx.Client
) -> None:
    if auth.kind != "bearer-login" or auth.logout_path is None:
        pytest.skip("needs auth.kind = bearer-login and auth.logout_path")
    path = protected_path(auth)
    token = fresh_token(staging_anonymous_client, auth, request)
    bearer = {"Authorization": f"Bearer {token.reveal()}"}

    assert_status(staging_anonymous_client.post(auth.logout_path, headers=bearer), {200, 202, 204})
    assert_status(staging_anonymous_client.get(path, headers=bearer), {401, 403})
