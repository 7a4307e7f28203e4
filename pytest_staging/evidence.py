"""What a test measured beyond pass/fail: limits it broke, load runs it made, retries that
rescued it.

Filled by the latency and load fixtures and the session client's retries while
a test runs, handed to the test's report (like the request log) so it reaches
the controller with and without xdist. A broken limit is a gate reason of its
own: a declared budget is a gate, whatever the category's pass rate. A retry
that changed a request's outcome (503, then 200) makes a passing test flaky; one
that met the same failure again does not (see `retrying.rescued`).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest


class EvidenceLog:
    """Breaches, load runs and rescuing retries recorded since the last `take()` /
    `take_retries()`."""

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
        """A retry rescued a request of the running test: a later attempt got an answer the
        first did not (`retrying.RetryTransport` reports only those)."""
        with self._lock:
            self._retries += 1

    def take(self) -> tuple[list[str], list[dict[str, Any]]]:
        with self._lock:
            taken = self._breaches, self._loads
            self._breaches, self._loads = [], []
        return taken

    def take_retries(self) -> int:
        """How many rescuing retries were made since the last call; starts afresh."""
        with self._lock:
            retries, self._retries = self._retries, 0
        return retries


EVIDENCE_KEY = pytest.StashKey[EvidenceLog]()
