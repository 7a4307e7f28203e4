"""Every HTTP request the session client makes, timed and attributed to the running test.

Latency here means client-observed time: from handing the request to the
transport until the response body was read and closed (or the request
failed). Records are plain data so they can ride on pytest's test reports
from xdist workers to the controller.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class RequestRecord:
    """One request: what was asked, what came back, how long it took."""

    method: str
    path: str
    status: int | None
    duration_ms: float
    error: str | None = None

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "duration_ms": self.duration_ms,
            "error": self.error,
        }


class RequestLog:
    """Collects records between two `take()` calls; one per test phase."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def take(self) -> list[RequestRecord]:
        """Hand over everything recorded since the last call and start afresh."""
        with self._lock:
            records, self._records = self._records, []
        return records


LOG_KEY = pytest.StashKey[RequestLog]()
"""Where the run's `RequestLog` lives in `config.stash`."""
