"""Credentials the manifest's `[auth]` table asks for, and the login that turns them into a token.

Secrets come only from environment variables the manifest names (or, for the
demo service, its published demo account). Every password and token is
registered with the redactor the moment it is read, so no report shows it.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

import httpx

from pytest_staging import json_pointer
from pytest_staging.demo.modes import DEMO_CREDENTIAL_ENVIRON
from pytest_staging.http.failures import failure_line
from pytest_staging.http.target import basic_pair
from pytest_staging.redaction import Secret, excerpt, redactor

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pytest_staging.http.target import StagingTarget
    from pytest_staging.manifest.records import Auth
    from pytest_staging.settings.resolution import StagingSettings


class LoginFailed(Exception):
    """The login endpoint did not hand out a token; the message says what came instead."""


class CannotAuthenticate(Exception):
    """The manifest's `[auth]` cannot be satisfied; the message says what to set or fix."""


def credential_environ(settings: StagingSettings) -> Mapping[str, str]:
    """Where credential variables are read: the environment, plus the demo account's defaults."""
    if settings.demo is None:
        return os.environ
    return {**DEMO_CREDENTIAL_ENVIRON, **os.environ}


def credentials(settings: StagingSettings, auth: Auth) -> tuple[str, Secret]:
    """The username and password for `auth`, the password registered as a secret."""
    username, password = auth.credentials(credential_environ(settings))
    redactor.register([password])
    return username, password


def configured_secrets(settings: StagingSettings) -> list[Secret]:
    """The secrets a run knows from the start, beyond the token and the header values: the
    password the manifest's `[auth]` names (and for Basic the `user:password` pair, whose
    base64 the redactor derives), when the variable is set."""
    auth = settings.manifest.auth
    if auth is None:
        return []
    try:
        username, password = auth.credentials(credential_environ(settings))
    except LookupError:  # unset: the tests that need it say so
        return []
    if auth.kind != "basic":
        return [password]
    return [password, basic_pair(username, password)]


def login(client: httpx.Client, auth: Auth, username: str, password: Secret) -> httpx.Response:
    """POST `{"username", "password"}` to the manifest's login path (the schema requires one
    for `bearer-login`)."""
    body = {"username": username, "password": password.reveal()}
    return client.post(str(auth.login_path), json=body)


def token_from(response: httpx.Response, auth: Auth) -> Secret:
    """The token at `auth.token_field` of a successful login, registered as a secret."""
    where = f"POST {auth.login_path}"
    if not response.is_success:
        raise LoginFailed(f"{where} answered {response.status_code}: {excerpt(response.text, 200)}")
    try:
        token = json_pointer.resolve(response.json(), auth.token_field)
    except (ValueError, json_pointer.PointerError) as exc:
        raise LoginFailed(  # the body may hold the token elsewhere: show its shape, not it
            f"{where}: no token at auth.token_field {auth.token_field} ({exc}); "
            f"the answer's top-level keys: {_keys(response)}"
        ) from None
    if not isinstance(token, str) or not token:
        raise LoginFailed(f"{where}: the value at {auth.token_field} is not a token string")
    secret = Secret(token)
    redactor.register([secret])
    return secret


def _keys(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "none, it is not JSON"
    return ", ".join(sorted(map(str, body))) if isinstance(body, dict) else "none, not an object"


def authenticate(
    settings: StagingSettings, target: StagingTarget, anonymous: httpx.Client
) -> tuple[StagingSettings, StagingTarget]:
    """Settings and target that carry the manifest's credentials: a token from a login
    (through `anonymous`), HTTP Basic, or the `--staging-token` already in the settings."""
    auth = settings.manifest.auth
    if auth is None:
        raise CannotAuthenticate("this test needs credentials: declare [auth] in the manifest")
    if auth.kind == "bearer":
        if settings.token is None:
            raise CannotAuthenticate(
                "auth.kind = bearer sends the token of --staging-token / PYTEST_STAGING_TOKEN, "
                "which is not set"
            )
        return settings, target
    try:
        username, password = credentials(settings, auth)
        if auth.kind == "basic":
            basic = dataclasses.replace(target, username=username, password=password)
            redactor.register(basic.secrets())  # the base64 user:password on the wire
            return settings, basic
        token = token_from(_logged_in(anonymous, auth, username, password), auth)
    except (LookupError, LoginFailed) as exc:
        raise CannotAuthenticate(f"cannot authenticate with the manifest's [auth]: {exc}") from None
    return dataclasses.replace(settings, token=token), target


def _logged_in(client: httpx.Client, auth: Auth, username: str, password: Secret) -> httpx.Response:
    """`login`, its failure to get an answer said as the login's (it happens in a test's
    setup, and would read like the test's own request)."""
    try:
        return login(client, auth, username, password)
    except httpx.RequestError as exc:
        raise LoginFailed(f"logging in ([auth] login_path): {failure_line(exc)}") from None
