"""Performance: the manifest's `[load]` run meets its thresholds (locust, in a subprocess).

Skipped when the manifest declares no `[load]`; refused on a sensitive
environment unless --staging-allow-sensitive-load.
"""

from __future__ import annotations

import pytest

from pytest_staging.performance.budgets import StagingLoad

pytestmark = pytest.mark.performance


def test_load_meets_its_thresholds(staging_load: StagingLoad) -> None:
    staging_load.from_manifest()
