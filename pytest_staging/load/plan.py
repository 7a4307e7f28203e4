"""What a load run does: plain records, no locust.

`LoadPlan` says who runs (users, spawn rate, a hard duration, processes or
distributed workers) and what they request: the manifest's `[load.tasks]`, which
`generated_locustfile` writes as a locustfile, or the user's own locustfile. What
the run must reach is `thresholds.LoadThresholds`.
"""

from __future__ import annotations

import math
import pprint
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from pytest_staging import durations

if TYPE_CHECKING:
    from pathlib import Path


ALL_CORES = -1
"""`processes = -1`: one locust worker process per local core (locust's own `--processes -1`)."""
LOAD_UNITS = ("h", "m", "s", "ms")
"""The units of a load run's duration (`durations`' grammar): `500ms`, `20s`, `1h30m`."""
_PLAN_LINE = "PLAN: dict[str, Any] = {}"


def seconds(duration: float | str) -> float:
    """A duration as seconds: a number of seconds, or text such as "500ms", "20s", "5m",
    "1h30m" (`durations`' grammar in `LOAD_UNITS`)."""
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        if not 0 < duration < math.inf:
            raise ValueError(f"a duration must be a positive, finite number, got {duration!r}")
        return float(duration)
    total = durations.total(duration, LOAD_UNITS) if isinstance(duration, str) else None
    if total is None or total <= 0:
        raise ValueError(
            f'expected a positive duration such as 20 (seconds), "20s", "5m" or "1h", '
            f"got {duration!r}"
        )
    return total


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
