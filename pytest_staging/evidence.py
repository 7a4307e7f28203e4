"""What a test measured beyond pass/fail: limits it broke, load runs it made, retries it needed.

Filled by the latency and load fixtures and the session client's retries while
a test runs, handed to the test's report (like the request log) so it reaches
the controller with and without xdist. A broken limit is a gate reason of its
own: a declared budget is a gate, whatever the category's pass rate. A retried
request makes a passing test flaky.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest


class EvidenceLog:
    """Breaches, load runs and retries recorded since the last `take()` / `take_retries()`."""

    def __init__(self) -> None:
        self._breaches: list[str] = []
        self._loads: list[dict[str, Any]] = []
        self._retries = 0
        self._lock = threading.Lock()

    def add_breaches(self, breaches: list[str]) -> None:
        with self._lock:
            self._breaches.extend(breaches)

    def add_load(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._loads.append(entry)

    def add_retry(self) -> None:
        """A request of the running test is sent again (see `retrying.RetryTransport`)."""
        with self._lock:
            self._retries += 1

    def take(self) -> tuple[list[str], list[dict[str, Any]]]:
        with self._lock:
            taken = self._breaches, self._loads
            self._breaches, self._loads = [], []
        return taken

    def take_retries(self) -> int:
        """How many retries were made since the last call; starts afresh."""
        with self._lock:
            retries, self._retries = self._retries, 0
        return retries


EVIDENCE_KEY = pytest.StashKey[EvidenceLog]()
