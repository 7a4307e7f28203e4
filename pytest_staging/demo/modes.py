"""Fault modes and options of the demo staging service.

Stdlib only: the pytest plugin imports this module at every start-up, so it must not pull in the
web stack of the ``demo`` extra.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

DEMO_MODES: tuple[str, ...] = (
    "healthy",
    "degraded",
    "slow",
    "flaky",
    "broken-envelope",
    "leaky",
)
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_USERNAME_ENV = "PYTEST_STAGING_DEMO_USERNAME"
DEMO_PASSWORD_ENV = "PYTEST_STAGING_DEMO_PASSWORD"
DEMO_CREDENTIAL_ENVIRON = {DEMO_USERNAME_ENV: DEMO_USERNAME, DEMO_PASSWORD_ENV: DEMO_PASSWORD}
"""The variables the demo manifest's [auth] names, filled in when the run targets the demo."""
SESSION_COOKIE = "demo_session"
"""Set by a successful login, as many real services do; the API itself reads only the token."""


def demo_account(environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The demo account: `demo` / `demo-password`, unless the variables the demo manifest names
    are set where the demo starts; the suites read the same variables, so they still log in."""
    environ = os.environ if environ is None else environ
    return (
        environ.get(DEMO_USERNAME_ENV) or DEMO_USERNAME,
        environ.get(DEMO_PASSWORD_ENV) or DEMO_PASSWORD,
    )


@dataclass(frozen=True)
class DemoOptions:
    """How the demo service should behave; the launcher passes these to the child process."""

    mode: str
    version: str = "1.0.0"
    slow_delay_ms: int = 250
    flaky_every: int = 5
    leak_kib: int = 1024
    """In leaky mode, memory every `/api` request keeps for good (a soak must see it grow)."""
