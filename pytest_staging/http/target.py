"""The target under test: where it is, which environment it is, how to show it safely, and
the one encoding of its HTTP Basic credentials."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from pytest_staging.redaction import Secret

NO_TARGET_MESSAGE = (
    "no staging target is configured: pass --staging-url URL, set PYTEST_STAGING_URL, "
    "or use --staging-demo to try the bundled demo service"
)


@dataclass(frozen=True)
class StagingTarget:
    """A base URL without credentials, plus the credentials it carried, kept secret."""

    url: str
    environment: str
    username: str | None = None
    password: Secret | None = None

    @classmethod
    def from_url(cls, url: str, environment: str) -> StagingTarget:
        """Split `user:password@` out of the URL so it is never shown or logged."""
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return cls(url=url, environment=environment)
        netloc = address(parts.hostname or "", parts.port)
        return cls(
            url=urlunsplit(parts._replace(netloc=netloc)),
            environment=environment,
            username=unquote(parts.username or ""),
            password=Secret(unquote(parts.password or "")),
        )

    def secrets(self) -> list[Secret]:
        """The URL's password, and the `user:password` pair whose base64 is the Basic
        credential on the wire (the redactor derives it, see `redaction.encoded_forms`)."""
        if self.username is None or self.password is None:
            return []
        return [self.password, basic_pair(self.username, self.password)]


def basic_pair(username: str, password: Secret) -> Secret:
    """`user:password`, which HTTP Basic sends base64-encoded: a secret of its own, whose
    base64 the redactor derives when it is registered."""
    return Secret(f"{username}:{password.reveal()}")


def basic_authorization(username: str, password: Secret) -> str:
    """The `Authorization` value HTTP Basic sends for `username` and `password`, for a client
    that is not httpx's (locust's users)."""
    pair = basic_pair(username, password).reveal().encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def address(host: str, port: int | None = None) -> str:
    """`host:port` as a URL writes it: an IPv6 host in brackets (`[::1]:8001`), so the port
    never reads as part of the address."""
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"
