"""The markers pytest-staging registers: the gate's categories, `critical` and `destructive`.

The built-in categories and the share of each that must pass by default are written here,
once: the gate counts by them, the settings check names against them, and the option help
and the marker descriptions are generated from them. They live in this light leaf, not in
`gate`, because every pytest run registers the markers and the options, and a run without
a target must not import the gate.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

CRITICAL = "critical"
DESTRUCTIVE = "destructive"
OTHER = "other"
"""Where a test with no category marker is counted; not a marker to put on a test."""

_CATEGORIES: Mapping[str, tuple[float, str]] = {
    "smoke": (100.0, "the deploy is up and its key paths answer."),
    "integration": (95.0, "the pieces work together (schemas, flows)."),
    "performance": (90.0, "latency and load within budget."),
    "security": (100.0, "headers, TLS, auth and error hygiene."),
    "monitoring": (100.0, "metrics and operational signals (cache, series)."),
}
"""Each built-in category: the percent of its tests that must pass by default, and what it
checks."""

BUILTIN_CATEGORIES = tuple(_CATEGORIES)
"""The categories every run knows (the ini key `staging_categories` adds more)."""
DEFAULT_THRESHOLDS: Mapping[str, float] = MappingProxyType(
    {name: threshold for name, (threshold, _) in _CATEGORIES.items()}
)
"""The percent of a category's tests that must pass, unless a gate says otherwise."""

MARKERS = {
    **{name: f"staging gate category: {what}" for name, (_, what) in _CATEGORIES.items()},
    CRITICAL: "any failure of this test is a NO-GO, whatever the pass rates.",
    DESTRUCTIVE: "changes data on the target (creates, deletes); keep it off sensitive targets.",
}
