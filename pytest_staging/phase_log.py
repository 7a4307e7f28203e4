"""What one test phase did: the requests it made, the limits it broke, the load runs it made,
the retries that rescued it.

Filled while a phase runs (by the session client, its retries, the latency and load
fixtures), taken whole by the phase's report, so it reaches the controller with and without
xdist. Latency here means client-observed time: from handing the request to the transport
until the response body was read and closed (or the request failed). Everything is plain
data so it can ride on pytest's test reports from xdist workers to the controller.

A broken limit is a gate reason of its own: a declared budget is a gate, whatever the
category's pass rate. A retry that changed a request's outcome (503, then 200) makes a
passing test flaky; one that met the same failure again does not (see
`http/retrying.rescued`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx


def failed(status: int | None) -> bool:
    """THE meaning of a failed request, everywhere: no answer, or a status of 500 or more.

    The run's error rate, the per-request table and the retries count by it. A latency
    sample's errors are another thing, named so: answers its caller did not accept
    (`ok_statuses`, see `performance/sampling.py`)."""
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


@dataclass
class Phase:
    """Everything one phase recorded, handed over by `PhaseLog.take()`."""

    requests: list[RequestRecord] = field(default_factory=list)
    breaches: list[str] = field(default_factory=list)
    loads: list[dict[str, Any]] = field(default_factory=list)
    retries: int = 0


class PhaseLog:
    """Collects what the running phase did between two `take()` calls.

    It also keeps the phase's last response (a reference, nothing copied), so a failed
    test's report can show what the target last answered.
    """

    def __init__(self) -> None:
        self._phase = Phase()
        self._last_response: httpx.Response | None = None
        self._lock = threading.Lock()

    def add_request(self, record: RequestRecord, response: httpx.Response | None = None) -> None:
        with self._lock:
            self._phase.requests.append(record)
            if response is not None:
                self._last_response = response

    def add_breaches(self, breaches: list[str]) -> None:
        with self._lock:
            self._phase.breaches.extend(breaches)

    def add_load(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._phase.loads.append(entry)

    def add_retry(self) -> None:
        """A retry rescued a request of the running phase: a later attempt got an answer the
        first did not (`retrying.RetryTransport` reports only those)."""
        with self._lock:
            self._phase.retries += 1

    @property
    def last_response(self) -> httpx.Response | None:
        """The last response recorded since the last `take()`."""
        return self._last_response

    def take(self) -> Phase:
        """Hand over everything recorded since the last call and start afresh."""
        with self._lock:
            phase, self._phase = self._phase, Phase()
            self._last_response = None
        return phase


PHASE_LOG_KEY = pytest.StashKey[PhaseLog]()
"""Where the run's `PhaseLog` lives in `config.stash`."""
