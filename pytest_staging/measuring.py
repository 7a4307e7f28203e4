"""The old path of `pytest_staging.performance.budgets`, kept for one release: code written
against it (copies of the bundled suites, older docs) keeps working."""

from __future__ import annotations

from pytest_staging.performance.budgets import (
    StagingLatency,
    StagingLoad,
)

__all__ = ["StagingLatency", "StagingLoad"]
