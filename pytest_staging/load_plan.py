"""The old path of `pytest_staging.load.plan`, kept for one release: code written
against it (copies of the bundled suites, older docs) keeps working."""

from __future__ import annotations

from pytest_staging.load.plan import (
    ALL_CORES,
    DEFAULT_ERROR_RATE,
    Check,
    LoadPlan,
    LoadTask,
    LoadThresholds,
    faults,
    generated_locustfile,
    seconds,
)

__all__ = [
    "ALL_CORES",
    "DEFAULT_ERROR_RATE",
    "Check",
    "LoadPlan",
    "LoadTask",
    "LoadThresholds",
    "faults",
    "generated_locustfile",
    "seconds",
]
