"""Every HTTP request the session client makes, timed and attributed to the running test.

Latency here means client-observed time: from handing the request to the
transport until the response body was read and closed (or the request
failed). Records are plain data so they can ride on pytest's test reports
from xdist workers to the controller.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx


def failed(status: int | None) -> bool:
    """THE meaning of a failed request, everywhere: no answer, or a status of 500 or more."""
    return status is None or status >= 500


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
    """Collects records between two `take()` calls; one per test phase.

    It also keeps the phase's last response (a reference, nothing copied), so a failed
    test's report can show what the target last answered.
    """

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._last_response: httpx.Response | None = None
        self._lock = threading.Lock()

    def add(self, record: RequestRecord, response: httpx.Response | None = None) -> None:
        with self._lock:
            self._records.append(record)
            if response is not None:
                self._last_response = response

    @property
    def last_response(self) -> httpx.Response | None:
        """The last response recorded since the last `take()`."""
        return self._last_response

    def take(self) -> list[RequestRecord]:
        """Hand over everything recorded since the last call and start afresh."""
        with self._lock:
            records, self._records = self._records, []
            self._last_response = None
        return records


LOG_KEY = pytest.StashKey[RequestLog]()
"""Where the run's `RequestLog` lives in `config.stash`."""
