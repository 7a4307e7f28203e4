"""The destructive guard: tests that change data run only where that is allowed.

The guard only adds skip marks, so collection stays identical across xdist
workers. A target is sensitive by its environment's name, by its URL, or by
where its URL redirects: a staging address that forwards to production is
production. The redirect check is the guard's one request; when it cannot
finish, the tests are withheld: the guard fails safe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin

import httpx
import pytest

from pytest_staging.http.target import StagingTarget
from pytest_staging.http.tls import tls_verify
from pytest_staging.markers import DESTRUCTIVE
from pytest_staging.settings.environments import sensitive_environment

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pytest_staging.settings.resolution import StagingSettings

WITHHELD = "destructive test withheld"
MAX_REDIRECTS = 5


def withheld_why(settings: StagingSettings) -> str | None:
    """Why destructive tests must not run against this target (without following its
    redirects), or None when they may."""
    if settings.sensitive_environment is not None:
        return (
            f"the target is environment {settings.sensitive_environment!r}, marked sensitive "
            f"in {settings.manifest.path}; destructive tests never run there"
        )
    if not settings.allow_destructive:
        return "it changes data on the target; pass --staging-allow-destructive to run it"
    return None


def redirected_to_sensitive(settings: StagingSettings) -> str | None:
    """Why the target is sensitive after all, when its URL redirects (up to MAX_REDIRECTS
    hops, no credentials sent) into a sensitive environment, or when that cannot be told
    (the target does not answer yet): a guard fails safe. None otherwise. Each hop is
    placed by the settings' own rule (`environments.sensitive_environment`), so a redirect
    from `https://` to `http://` of production is still production."""
    if settings.url is None or not any(
        environment.sensitive for environment in settings.manifest.environments.values()
    ):
        return None
    url = StagingTarget.from_url(settings.url, settings.environment).url  # no user:password
    with httpx.Client(verify=tls_verify(settings), timeout=settings.timeout) as client:
        for _ in range(MAX_REDIRECTS):
            try:
                response = client.get(url)
            except httpx.HTTPError as exc:
                return (
                    f"cannot tell whether {url} redirects into a sensitive environment of "
                    f"{settings.manifest.path} ({type(exc).__name__}); destructive tests run "
                    "only when that is known"
                )
            location = response.headers.get("location")
            if not response.is_redirect or location is None:
                return None
            url = urljoin(url, location)
            name = sensitive_environment(settings.manifest.environments.values(), url)
            if name is not None:
                return (
                    f"the target redirects to {url}, environment {name!r}, marked sensitive "
                    f"in {settings.manifest.path}; destructive tests never run there"
                )
    return None


def withheld_reason_of(item: pytest.Item) -> str | None:
    """The guard's skip reason on `item`, if the guard withheld it."""
    for mark in item.iter_markers("skip"):
        reason = str(mark.kwargs.get("reason", ""))
        if reason.startswith(WITHHELD):
            return reason
    return None


def withheld_reason_in(report: pytest.TestReport) -> str | None:
    """Why the guard withheld the test of this (skipped setup) report, if it did."""
    if not (report.skipped and report.when == "setup" and isinstance(report.longrepr, tuple)):
        return None
    reason = str(report.longrepr[2]).removeprefix("Skipped: ")
    return reason.removeprefix(f"{WITHHELD}: ") if reason.startswith(WITHHELD) else None


def withhold_destructive(items: Iterable[pytest.Item], settings: StagingSettings) -> str | None:
    """Skip every destructive test the settings do not allow; returns why, when withheld."""
    destructive = [item for item in items if item.get_closest_marker(DESTRUCTIVE) is not None]
    if not destructive:
        return None
    why = withheld_why(settings) or redirected_to_sensitive(settings)
    if why is None:
        return None
    for item in destructive:
        item.add_marker(pytest.mark.skip(reason=f"{WITHHELD}: {why}"))
    return why
