"""Read the target's Prometheus metrics after a run: the series the manifest's `[soak]` names.

A series is matched by its sample name (`process_cpu_seconds_total`) or its family name
(`process_cpu_seconds`), and its value is summed over its label sets (one number per series:
`process_resident_memory_bytes` has one label set anyway). A scrape that fails, or a series
that is not exposed, is kept as a problem of that sample, never as a missing line.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from pytest_staging import timing
from pytest_staging.redaction import excerpt

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping, Sequence

SCRAPE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Sample:
    at: datetime
    url: str
    values: Mapping[str, float] = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "url": self.url,
            "values": dict(self.values),
            "problems": list(self.problems),
        }

    @classmethod
    def from_json(cls, document: Any) -> Sample | None:
        """The sample saved in `document`, or None if it is not one (a damaged file)."""
        try:
            return cls(
                at=datetime.fromisoformat(document["at"]),
                url=str(document["url"]),
                values={str(k): float(v) for k, v in document["values"].items()},
                problems=tuple(str(p) for p in document["problems"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def read_series(text: str, series: Sequence[str]) -> tuple[dict[str, float], list[str]]:
    """The value of each named series in Prometheus text `text`, and what could not be read."""
    totals: dict[str, float] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                for name in series:
                    if name in (sample.name, family.name) and _counts(sample.name, family.name):
                        totals[name] = totals.get(name, 0.0) + float(sample.value)
    except (ValueError, IndexError, TypeError, KeyError) as exc:
        return {}, [f"the metrics are not in Prometheus text format ({exc})"]
    problems = [f"{name} is not among the exposed series" for name in series if name not in totals]
    for name, value in list(totals.items()):
        if not math.isfinite(value):
            problems.append(f"{name} is {value}, not a usable number")
            del totals[name]
    return totals, problems


def _counts(sample_name: str, family_name: str) -> bool:
    """A histogram or summary's `_bucket`, `_sum` and `_count` are not the series itself; a
    counter's `_total` and `_created` are told apart the same way."""
    return sample_name in (family_name, f"{family_name}_total")


def scrape(url: str, series: Sequence[str], verify: ssl.SSLContext | bool) -> Sample:
    """GET `url` and read `series` from it; the time is taken when the answer arrived."""
    try:
        response = httpx.get(url, verify=verify, headers=_headers(), timeout=SCRAPE_TIMEOUT_S)
    except httpx.HTTPError as exc:
        problem = f"GET {url} got no answer ({type(exc).__name__}: {exc})"
        return Sample(timing.utc_now(), url, problems=(problem,))
    at = timing.utc_now()
    if response.status_code != 200:
        problem = f"GET {url} answered {response.status_code}: {excerpt(response.text, 200)}"
        return Sample(at, url, problems=(problem,))
    values, problems = read_series(response.text, series)
    return Sample(at, url, values, tuple(f"GET {url}: {p}" for p in problems))


def _headers() -> dict[str, str]:
    """The credentials every run sends, from the same variables the runs read them from."""
    headers = {}
    token = os.environ.get("PYTEST_STAGING_TOKEN")
    if token:
        headers["Authorization"] = f"Bearer {token}"
    for line in os.environ.get("PYTEST_STAGING_HEADER", "").splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers[name.strip()] = value.strip()
    return headers
