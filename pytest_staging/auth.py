"""The old path of `pytest_staging.http.auth`, kept for one release: code written
against it (copies of the bundled suites, older docs) keeps working."""

from __future__ import annotations

from pytest_staging.http.auth import (
    CannotAuthenticate,
    LoginFailed,
    authenticate,
    credential_environ,
    credentials,
    login,
    token_from,
)

__all__ = [
    "CannotAuthenticate",
    "LoginFailed",
    "authenticate",
    "credential_environ",
    "credentials",
    "login",
    "token_from",
]
