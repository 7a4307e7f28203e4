"""pytest-staging: verify a freshly deployed staging environment and decide GO / NO-GO.

The pytest plugin itself lives in `pytest_staging.plugin` (loaded through the
`pytest11` entry point). This package exports what tests import directly:
the response assertions and the target type.
"""

from __future__ import annotations

from pytest_staging.assertions import (
    assert_envelope,
    assert_health,
    assert_schema,
    assert_status,
    json_at,
    json_body,
)
from pytest_staging.target import StagingTarget

__all__ = [
    "StagingTarget",
    "assert_envelope",
    "assert_health",
    "assert_schema",
    "assert_status",
    "json_at",
    "json_body",
]
