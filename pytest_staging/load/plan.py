"""What a load run does and what it must achieve: plain records, no locust.

`LoadPlan` says who runs (users, spawn rate, a hard duration, processes or
distributed workers) and what they request (the manifest's `[load.tasks]`, or
the user's own locustfile). `LoadThresholds` says what the run must reach;
every check names its metric, its value and its limit.
"""

from __future__ import annotations

import math
import pprint
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from pytest_staging.gate import percent
from pytest_staging.load.result import CAUSES_NAMED

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_staging.load.result import LoadResult

ALL_CORES = -1
"""`processes = -1`: one locust worker process per local core (locust's own `--processes -1`)."""
_DURATION = re.compile(r"^(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<unit>ms|s|m|h)$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PLAN_LINE = "PLAN: dict[str, Any] = {}"


def seconds(duration: float | str) -> float:
    """A duration as seconds: a number of seconds, or text such as "500ms", "20s", "5m", "1h"."""
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        if not 0 < duration < math.inf:
            raise ValueError(f"a duration must be a positive, finite number, got {duration!r}")
        return float(duration)
    match = _DURATION.match(str(duration).strip())
    if match is None or float(match["number"]) <= 0:
        raise ValueError(
            f'expected a positive duration such as 20 (seconds), "20s", "5m" or "1h", '
            f"got {duration!r}"
        )
    return float(match["number"]) * _SECONDS[match["unit"]]


@dataclass(frozen=True)
class LoadTask:
    """One weighted request of the generated locustfile."""

    path: str
    method: str = "GET"
    weight: int = 1
    name: str | None = None
    json: Any = None

    @property
    def label(self) -> str:
        return self.name or f"{self.method} {self.path}"


@dataclass(frozen=True)
class LoadPlan:
    """Who runs and for how long; `tasks` or `locustfile` says what they request."""

    users: int = 10
    spawn_rate: float | None = None
    """Users started per second; default: all users in the first second."""
    duration_s: float = 10.0
    wait_ms: float = 0.0
    """Think time of each generated user between two requests."""
    tasks: tuple[LoadTask, ...] = ()
    locustfile: Path | None = None
    processes: int | None = None
    """Local worker processes (`ALL_CORES` for one per core); None runs in one process."""
    expect_workers: int | None = None
    """Distributed: run as master and wait for this many `locust --worker` processes."""
    master_bind_host: str = "127.0.0.1"
    master_bind_port: int = 5557
    label: str | None = None

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ValueError(f"users must be 1 or more, got {self.users}")
        if not 0 < self.duration_s < math.inf:
            raise ValueError(f"the duration must be positive, got {self.duration_s}")
        if self.locustfile is None and not self.tasks:
            raise ValueError("a load run needs tasks (manifest [[load.tasks]]) or a locustfile")
        if self.locustfile is not None and self.tasks:
            raise ValueError("give either tasks or a locustfile, not both")
        if self.processes is not None and self.expect_workers is not None:
            raise ValueError("processes (one machine) and expect_workers (many) exclude each other")

    @property
    def rate(self) -> float:
        return self.spawn_rate or float(self.users)

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        what = self.locustfile.name if self.locustfile else f"{len(self.tasks)} task(s)"
        return f"{what}: {self.users} users for {self.duration_s:g}s"


DEFAULT_ERROR_RATE = 0.1
"""Percent of a load run's requests that may fail when `error_rate` is not given (the
seeds' "error rate < 0.1 %"): a run with failures is never OK without a limit one sees."""


@dataclass(frozen=True)
class Check:
    """One threshold against the run's value: a sentence for the reasons, a short form for the
    load line (`error rate 100% > 0.1% (default)`); `default` when the limit was not given."""

    metric: str
    value: float
    limit: float
    ok: bool
    message: str
    summary: str
    default: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "value": self.value,
            "limit": self.limit,
            "ok": self.ok,
            "default": self.default,
        }


@dataclass(frozen=True)
class LoadThresholds:
    """What a load run must reach; None leaves a metric unchecked, except the error rate,
    which then has the limit DEFAULT_ERROR_RATE. An empty run never passes."""

    p95_ms: float | None = None
    error_rate: float | None = None
    """Percent of requests that may fail; None applies DEFAULT_ERROR_RATE."""
    min_rps: float | None = None
    min_requests: int = 1

    @property
    def error_rate_limit(self) -> float:
        return DEFAULT_ERROR_RATE if self.error_rate is None else self.error_rate

    def checks(self, result: LoadResult) -> list[Check]:
        checks = [_requests_check(result, self.min_requests)]
        if self.p95_ms is not None:
            ok = result.p95_ms <= self.p95_ms
            checks.append(
                Check(
                    "p95_ms",
                    result.p95_ms,
                    self.p95_ms,
                    ok,
                    f"p95 {result.p95_ms:g} ms is above the limit p95_ms = {self.p95_ms:g} ms",
                    f"p95 {result.p95_ms:g} ms {'<=' if ok else '>'} {self.p95_ms:g} ms",
                )
            )
        checks.append(_error_rate_check(result, self.error_rate_limit, self.error_rate is None))
        if self.min_rps is not None:
            ok = result.rps >= self.min_rps
            checks.append(
                Check(
                    "min_rps",
                    round(result.rps, 1),
                    self.min_rps,
                    ok,
                    f"throughput {result.rps:.1f} req/s is below the limit "
                    f"min_rps = {self.min_rps:g} req/s",
                    f"{result.rps:.1f} req/s {'>=' if ok else '<'} {self.min_rps:g} req/s",
                )
            )
        return checks

    def to_dict(self) -> dict[str, Any]:
        """The limits in force, the default error rate included."""
        limits = {
            "p95_ms": self.p95_ms,
            "error_rate": self.error_rate_limit,
            "min_rps": self.min_rps,
            "min_requests": self.min_requests,
        }
        return {name: value for name, value in limits.items() if value is not None}


def _requests_check(result: LoadResult, least: int) -> Check:
    ok = result.requests >= least
    return Check(
        "min_requests",
        result.requests,
        least,
        ok,
        f"the run made {result.requests} request(s), fewer than min_requests = "
        f"{least}: an empty or starved run never passes",
        f"{result.requests} requests {'>=' if ok else '<'} min_requests {least}",
    )


def _error_rate_check(result: LoadResult, limit: float, default: bool) -> Check:
    """Broken, it names the top failure causes from locust's failure table too."""
    rate = result.failure_rate
    ok = rate <= limit
    shown = percent(rate, limit, fails_above=True)  # never at or under the limit it broke
    given = " (the default; set error_rate to allow more)" if default else ""
    causes = result.top_failures()
    return Check(
        "error_rate",
        round(rate, 3),
        limit,
        ok,
        f"failure rate {shown} ({result.failures} of {result.requests}) is above the limit "
        f"error_rate = {percent(limit)}{given}{'; ' + causes if causes else ''}",
        f"error rate {shown} {'<=' if ok else '>'} {percent(limit)}"
        f"{' (default)' if default else ''}",
        default,
    )


def faults(result: LoadResult) -> list[Check]:
    """What no threshold allows, because the run itself went wrong: a task that raised (an
    `assert` on a response, a broken locustfile) and a locust exit the numbers do not explain.

    Task errors are not added to the error rate: they are counted per task run, not per
    request (a task can raise after a request that succeeded, so the rate could pass 100 %),
    and `error_rate` tolerates a slow or busy service's failures, not a check that the
    service answered wrongly. Like locust's own exit code, one is enough to fail."""
    return [_task_errors_check(result), _exit_check(result)]


def _task_errors_check(result: LoadResult) -> Check:
    count = result.task_error_count
    errors = result.task_errors
    named = "; ".join(error.describe() for error in errors[:CAUSES_NAMED])
    more = f"; {len(errors) - CAUSES_NAMED} more" if len(errors) > CAUSES_NAMED else ""
    return Check(
        "task_errors",
        count,
        0,
        count == 0,
        f"locust tasks raised {count} exception(s), and none is allowed (fix the service or "
        f"the locustfile): {named}{more}",
        f"task errors {count} ({errors[0].error}{', ...' if len(errors) > 1 else ''})"
        if errors
        else "task errors 0",
    )


def _exit_check(result: LoadResult) -> Check:
    code = result.exit_code
    log = result.log or "locust's log"
    return Check(
        "exit_code",
        code,
        0,
        result.exit_explained,
        f"locust exited with code {code}, which neither a failed request nor a task error "
        f"explains (locust itself, or a locustfile's environment.process_exit_code, reported "
        f"a problem): see {log}",
        f"locust exit code {code}",
    )


def generated_locustfile(tasks: tuple[LoadTask, ...], wait_ms: float = 0.0) -> str:
    """The text of a self-contained locustfile (FastHttpUser) running `tasks`.

    Only the tasks are written into it; headers and TLS trust reach it through
    environment variables, so no secret is ever written to disk.
    """
    template = resources.files("pytest_staging.load.locust_side").joinpath("manifest_users.py")
    text = template.read_text(encoding="utf-8")
    plan = {
        "wait_ms": wait_ms,
        "tasks": [
            {
                "method": task.method,
                "path": task.path,
                "weight": task.weight,
                "name": task.label,
                "json": task.json,
            }
            for task in tasks
        ],
    }
    assert _PLAN_LINE in text, "the locustfile template lost its PLAN line"
    literal = pprint.pformat(plan, width=96, sort_dicts=True)  # JSON values are Python literals
    return text.replace(_PLAN_LINE, f"PLAN: dict[str, Any] = {literal}", 1)
