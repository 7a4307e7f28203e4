"""pytest-staging: verify a freshly deployed staging environment and decide GO / NO-GO.

The pytest plugin itself lives in `pytest_staging.plugin` (loaded through the
`pytest11` entry point). This package exports what tests import directly:
the response assertions and the target type. They are imported on first use,
because pytest imports this package in every run, with a target or without.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_staging.assertions import (
        assert_envelope,
        assert_health,
        assert_schema,
        assert_status,
        json_at,
        json_body,
    )
    from pytest_staging.target import StagingTarget

_EXPORTED_FROM = {
    "StagingTarget": "pytest_staging.target",
    "assert_envelope": "pytest_staging.assertions",
    "assert_health": "pytest_staging.assertions",
    "assert_schema": "pytest_staging.assertions",
    "assert_status": "pytest_staging.assertions",
    "json_at": "pytest_staging.assertions",
    "json_body": "pytest_staging.assertions",
}

__all__ = [
    "StagingTarget",
    "assert_envelope",
    "assert_health",
    "assert_schema",
    "assert_status",
    "json_at",
    "json_body",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTED_FROM.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_staging' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
