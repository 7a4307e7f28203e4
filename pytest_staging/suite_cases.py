"""The old path of `pytest_staging.run.suite_cases`, kept for one release: code written
against it (copies of the bundled suites, older docs) keeps working."""

from __future__ import annotations

from pytest_staging.run.suite_cases import (
    Declared,
    parametrize,
    send,
)

__all__ = ["Declared", "parametrize", "send"]
