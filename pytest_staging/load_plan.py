"""The old path of `pytest_staging.load.plan`, kept for one release: code written
against it (copies of the bundled suites, older docs) keeps working."""

from __future__ import annotations

from pytest_staging.load.plan import ALL_CORES, LoadPlan, LoadTask, generated_locustfile, seconds
from pytest_staging.load.result import Check
from pytest_staging.load.thresholds import DEFAULT_ERROR_RATE, LoadThresholds, faults

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
