"""Moved to `pytest_staging.durations`; this path goes once cli.py imports the leaf."""

from __future__ import annotations

from pytest_staging.durations import EXAMPLES, argument, parse, shown

__all__ = ["EXAMPLES", "argument", "parse", "shown"]
