"""Credentials the manifest's `[auth]` table asks for, and the login that turns them into a token.

Secrets come only from environment variables the manifest names (or, for the
demo service, its published demo account). Every password and token is
registered with the redactor the moment it is read, so no report shows it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pytest_staging import json_pointer
from pytest_staging.demo.modes import DEMO_CREDENTIAL_ENVIRON
from pytest_staging.redaction import Secret, excerpt, redactor

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

    from pytest_staging.manifest import Auth
    from pytest_staging.settings import StagingSettings


class LoginFailed(Exception):
    """The login endpoint did not hand out a token; the message says what came instead."""


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


def login(client: httpx.Client, auth: Auth, username: str, password: Secret) -> httpx.Response:
    """POST `{"username", "password"}` to the manifest's login path."""
    if auth.login_path is None:
        raise LoginFailed("auth.login_path is not set in the manifest")
    return client.post(auth.login_path, json={"username": username, "password": password.reveal()})


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
