"""Secrets first seen on the wire, registered with the redactor as the client sees them.

A session cookie the target sets, or a credential a test puts in a header itself, is
known to no setting: the session client's event hooks (`WireSecrets.event_hooks`) find
them in every request it sends and every answer it gets (Authorization and
Proxy-Authorization, Cookie, Set-Cookie) and register them, so every report masks them.

Each client has its own `WireSecrets` (`client.build_client` makes it), which counts the
values taken per cookie name: a cookie re-issued with a new value on every answer adds a
bounded number of secrets to the run.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from typing import TYPE_CHECKING, Any

from pytest_staging.redaction import Redactor, redactor

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    import httpx

WIRE_COOKIE_MIN_LENGTH = 8
"""Cookie values seen on the wire shorter than this are not taken for secrets: a session id
is long and random, while `consent=true` or `theme=dark` would mask common words everywhere."""
WIRE_COOKIE_VALUES_PER_NAME = 32
"""A cookie re-issued with a new value on every answer (a load balancer's stickiness cookie)
would otherwise add a secret per request, and every redaction scans them all."""


class WireSecrets:
    """Finds the secrets in HTTP headers and registers them with `secrets`; counts the cookie
    values it took per name, for as long as it lives (one client's)."""

    def __init__(self, secrets: Redactor = redactor) -> None:
        self._secrets = secrets
        self._cookie_counts: dict[str, int] = {}

    def found_in(self, headers: Iterable[tuple[str, str]]) -> list[str]:
        """The secret values in HTTP headers: Authorization and Proxy-Authorization (the whole
        value, its credential part and, for Basic, the password inside), Cookie values, and
        the value of each Set-Cookie."""
        found: list[str] = []
        for name, value in headers:
            lowered = name.lower()
            if lowered in {"authorization", "proxy-authorization"}:
                found += _authorization_secrets(value.strip())
            elif lowered == "cookie":
                found += self._cookie_values(value.split(";"))
            elif lowered == "set-cookie":
                found += self._cookie_values(value.split(";")[:1])
        return found

    def register(
        self, request: httpx.Request | None = None, response: httpx.Response | None = None
    ) -> None:
        """Register the secrets a request sends and a response sets (see `found_in`)."""
        headers: list[tuple[str, str]] = []
        if request is not None:
            headers += request.headers.multi_items()
        if response is not None:
            headers += response.headers.multi_items()
        self._secrets.register(self.found_in(headers))

    def event_hooks(self) -> dict[str, list[Callable[..., Any]]]:
        """httpx event hooks that register what `register` finds, for
        `httpx.Client(event_hooks=WireSecrets().event_hooks())`."""
        return {"request": [self._on_request], "response": [self._on_response]}

    def _on_request(self, request: httpx.Request) -> None:
        self.register(request=request)

    def _on_response(self, response: httpx.Response) -> None:
        self.register(response=response)

    def _cookie_values(self, pairs: Iterable[str]) -> list[str]:
        found = []
        for pair in pairs:
            name, equals, value = pair.strip().partition("=")
            value = value.strip().strip('"')
            seen = self._cookie_counts.get(name, 0)
            if (
                equals
                and len(value) >= WIRE_COOKIE_MIN_LENGTH
                and seen < WIRE_COOKIE_VALUES_PER_NAME
            ):
                self._cookie_counts[name] = seen + 1
                found.append(value)
        return found


def _authorization_secrets(value: str) -> list[str]:
    scheme, _, credential = value.partition(" ")
    credential = credential.strip()
    found = [value, credential] if credential else [value]
    if scheme.lower() == "basic" and credential:
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            pair = base64.b64decode(credential, validate=True).decode("utf-8")
            _, colon, password = pair.partition(":")
            if colon:
                found += [pair, password]
    return found
