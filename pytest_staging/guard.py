"""The destructive guard: tests that change data run only where that is allowed.

Deterministic on purpose: every xdist worker withholds the same tests, so
collection stays identical across workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_staging.markers import DESTRUCTIVE

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pytest_staging.settings import StagingSettings


def withheld_reason(settings: StagingSettings) -> str | None:
    """Why destructive tests must not run against this target, or None when they may."""
    if settings.sensitive_environment is not None:
        return (
            f"destructive test withheld: the target is environment "
            f"{settings.sensitive_environment!r}, marked sensitive in {settings.manifest.path}; "
            "destructive tests never run there"
        )
    if not settings.allow_destructive:
        return (
            "destructive test withheld: it changes data on the target; "
            "pass --staging-allow-destructive to run it"
        )
    return None


def withhold_destructive(items: Iterable[pytest.Item], settings: StagingSettings) -> None:
    """Skip every destructive test the settings do not allow."""
    reason = withheld_reason(settings)
    if reason is None:
        return
    for item in items:
        if item.get_closest_marker(DESTRUCTIVE) is not None:
            item.add_marker(pytest.mark.skip(reason=reason))
