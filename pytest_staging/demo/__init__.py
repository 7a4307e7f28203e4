"""A small staging-like JSON API with switchable faults, the target of ``--staging-demo``.

Importing this package stays cheap: the web stack lives in :mod:`pytest_staging.demo.app` and is
only imported by the service process itself.
"""

from __future__ import annotations

from pytest_staging.demo.modes import DEMO_MODES

__all__ = ["DEMO_MODES"]
