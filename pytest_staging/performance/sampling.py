"""Latency sampling: send one request N times with bounded concurrency, keep exact percentiles.

Latency is client-observed: from handing the built request to the transport
until the response body was read and closed (httpx's own `response.elapsed`;
for a request that got no answer, until it failed), the same span the run's
request log times. A warm-up request (not counted) opens the connection
first, so the samples measure the service rather than one TCP/TLS handshake.
At concurrency 1 the requests go out from the calling thread: no thread
hand-over per request.

A sample is an error when the caller does not accept what it got: no answer, or a
status outside `ok_statuses` (by default any status of 400 or more, so sampling a path that
answers 404 counts errors). That is the caller's check, not `phase_log.failed` (no
answer, or 500 and above), which is what the run's error rate counts: every sampled
request is also in the phase's log, and judged there by that rule.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import httpx

from pytest_staging import timing
from pytest_staging.gate import percent
from pytest_staging.performance.percentiles import percentiles

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

DEFAULT_SAMPLES = 20
DEFAULT_CONCURRENCY = 2


@dataclass(frozen=True)
class LatencySample:
    """The timings of one sampled request, in milliseconds, and how many answers the caller
    did not accept (`errors`)."""

    name: str
    durations_ms: tuple[float, ...]
    errors: int

    @property
    def count(self) -> int:
        return len(self.durations_ms)

    @property
    def error_rate(self) -> float:
        """Percent of samples not accepted (no answer, or a status outside `ok_statuses`)."""
        return 100.0 * self.errors / self.count if self.count else 0.0

    @cached_property
    def _spread(self) -> dict[str, float]:
        """Computed once: every percentile property and message reads the same numbers."""
        return percentiles(list(self.durations_ms)) if self.durations_ms else {}

    @property
    def p50_ms(self) -> float:
        return self._spread["p50"]

    @property
    def p95_ms(self) -> float:
        return self._spread["p95"]

    @property
    def p99_ms(self) -> float:
        return self._spread["p99"]

    @property
    def max_ms(self) -> float:
        return self._spread["max"]

    def breaches(
        self,
        *,
        p50_ms: float | None = None,
        p95_ms: float | None = None,
        p99_ms: float | None = None,
        max_ms: float | None = None,
        error_rate: float | None = None,
    ) -> list[str]:
        """One line per limit exceeded, naming the metric, the value and the limit."""
        spread = self._spread
        found = []
        for metric, limit in (("p50", p50_ms), ("p95", p95_ms), ("p99", p99_ms), ("max", max_ms)):
            if limit is not None and spread[metric] > limit:
                found.append(
                    f"{self.name}: {metric} {spread[metric]:.1f} ms is above the budget "
                    f"{metric}_ms = {limit:g} ms ({self.count} samples)"
                )
        if error_rate is not None and self.error_rate > error_rate:
            found.append(
                f"{self.name}: {self.errors} of {self.count} samples failed "
                f"({percent(self.error_rate, error_rate, fails_above=True)}), "
                f"above error_rate = {percent(error_rate)}"
            )
        return found

    def describe(self) -> str:
        spread = self._spread
        return (
            f"{self.name}: p50 {spread['p50']:.1f} ms, p95 {spread['p95']:.1f} ms, "
            f"p99 {spread['p99']:.1f} ms, max {spread['max']:.1f} ms, "
            f"{self.errors} error(s) in {self.count} samples"
        )


def accepted_by_default(status: int) -> bool:
    """What a sample accepts without `ok_statuses`: any status below 400."""
    return status < 400


def _acceptance(ok_statuses: Collection[int] | None) -> Callable[[int], bool]:
    if ok_statuses is None:
        return accepted_by_default
    return lambda status: status in ok_statuses


def sample(
    client: httpx.Client,
    method: str,
    path: str,
    *,
    samples: int = DEFAULT_SAMPLES,
    concurrency: int = DEFAULT_CONCURRENCY,
    ok_statuses: Collection[int] | None = None,
    name: str | None = None,
    **request: Any,
) -> LatencySample:
    """Send `method path` `samples` times, at most `concurrency` at once, and time each.

    A sample is an error when its request gets no answer or its status is not in
    `ok_statuses` (default: `accepted_by_default`); those are timed too.
    """
    if samples < 1 or concurrency < 1:
        raise ValueError(f"samples and concurrency must be 1 or more, got {samples}, {concurrency}")
    accepted = _acceptance(ok_statuses)

    def timed(_: int) -> tuple[float, bool]:
        start = timing.monotonic()
        try:
            response = client.request(method, path, **request)
        except httpx.TransportError:
            return (timing.monotonic() - start) * 1000, False
        return response.elapsed.total_seconds() * 1000, accepted(response.status_code)

    timed(-1)  # warm-up: opens the connection; not counted
    if concurrency == 1:
        results = [timed(number) for number in range(samples)]
    else:
        with ThreadPoolExecutor(max_workers=min(concurrency, samples)) as pool:
            results = list(pool.map(timed, range(samples)))
    return LatencySample(
        name=name or f"{method} {path}",
        durations_ms=tuple(round(duration, 3) for duration, _ in results),
        errors=sum(1 for _, was_accepted in results if not was_accepted),
    )
