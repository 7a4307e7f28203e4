"""What a test measured beyond pass/fail: limits it broke and load runs it made.

Filled by the latency and load fixtures while a test runs, handed to the
test's report (like the request log) so it reaches the controller with and
without xdist. A broken limit is a gate reason of its own: a declared budget
is a gate, whatever the category's pass rate.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest


class EvidenceLog:
    """Breaches and load runs recorded since the last `take()`."""

    def __init__(self) -> None:
        self._breaches: list[str] = []
        self._loads: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def add_breaches(self, breaches: list[str]) -> None:
        with self._lock:
            self._breaches.extend(breaches)

    def add_load(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._loads.append(entry)

    def take(self) -> tuple[list[str], list[dict[str, Any]]]:
        with self._lock:
            taken = self._breaches, self._loads
            self._breaches, self._loads = [], []
        return taken


EVIDENCE_KEY = pytest.StashKey[EvidenceLog]()
