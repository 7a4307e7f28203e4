"""Clock and sleep behind one indirection.

Latency, readiness deadlines and retry waits read time only through this
module, so tests can swap in a fake clock instead of sleeping for real.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

monotonic = time.perf_counter
sleep = time.sleep


def utc_now() -> datetime:
    """Wall-clock time for report timestamps (never for measuring durations)."""
    return datetime.now(UTC)
