"""Fault modes and options of the demo staging service.

Stdlib only: the pytest plugin imports this module at every start-up, so it must not pull in the
web stack of the ``demo`` extra.
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_MODES: tuple[str, ...] = ("healthy", "degraded", "slow", "flaky", "broken-envelope")
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"
DEMO_CREDENTIAL_ENVIRON = {
    "PYTEST_STAGING_DEMO_USERNAME": DEMO_USERNAME,
    "PYTEST_STAGING_DEMO_PASSWORD": DEMO_PASSWORD,
}
"""The variables the demo manifest's [auth] names, filled in when the run targets the demo."""


@dataclass(frozen=True)
class DemoOptions:
    """How the demo service should behave; the launcher passes these to the child process."""

    mode: str
    version: str = "1.0.0"
    slow_delay_ms: int = 250
    flaky_every: int = 5
