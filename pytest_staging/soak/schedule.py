"""The soak's schedule: when each run is due, which run comes next, which ones were missed.

Runs are due on the wall clock, every `every_s` from the start, `ceil(duration / every)` of
them (`--duration 24h --every 2h`: 12 runs, at 0h, 2h, ..., 22h). The schedule is saved
once, when the soak starts, and never moves: a soak that was stopped and resumed, or a run
that overran into the next run's time, does not shift the later runs. When the time of
several runs has passed, the latest of them runs at once and the earlier ones are missed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pytest_staging.durations import shown

if TYPE_CHECKING:
    from collections.abc import Collection

SCHEMA = "pytest-staging/soak-schedule/v1"


class ScheduleError(Exception):
    """A saved schedule cannot be read, or it disagrees with the command line."""


@dataclass(frozen=True)
class Schedule:
    started_at: datetime
    duration_s: float
    every_s: float
    args: tuple[str, ...]
    """The pytest arguments of every run (without `--staging-report`, which the soak adds)."""

    @property
    def runs(self) -> int:
        return max(1, math.ceil(self.duration_s / self.every_s - 1e-9))

    def planned(self, run: int) -> datetime:
        """When run `run` (1-based) is due."""
        return self.started_at + timedelta(seconds=self.every_s * (run - 1))

    @property
    def ends_at(self) -> datetime:
        return self.started_at + timedelta(seconds=self.duration_s)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "started_at": self.started_at.isoformat(),
            "duration_s": self.duration_s,
            "every_s": self.every_s,
            "runs": self.runs,
            "args": list(self.args),
            "planned": [self.planned(run).isoformat() for run in range(1, self.runs + 1)],
        }

    @classmethod
    def from_json(cls, document: Any) -> Schedule:
        try:
            if document["schema"] != SCHEMA:
                raise ValueError(f"schema {document['schema']!r} is not {SCHEMA}")
            schedule = cls(
                started_at=datetime.fromisoformat(document["started_at"]),
                duration_s=float(document["duration_s"]),
                every_s=float(document["every_s"]),
                args=tuple(str(arg) for arg in document["args"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ScheduleError(f"not a soak schedule ({type(exc).__name__}: {exc})") from None
        if schedule.started_at.tzinfo is None or min(schedule.duration_s, schedule.every_s) <= 0:
            raise ScheduleError("not a soak schedule (a naive start time or a duration <= 0)")
        return schedule


def new(duration_s: float, every_s: float, args: tuple[str, ...], now: datetime) -> Schedule:
    """A schedule starting `now`, of two runs at least: one run has no trend."""
    if every_s >= duration_s:
        raise ScheduleError(
            f"--every {shown(every_s)} leaves room for one run in --duration "
            f"{shown(duration_s)}, and one run has no trend; shorten --every"
        )
    return Schedule(started_at=now, duration_s=duration_s, every_s=every_s, args=args)


def disagreements(
    saved: Schedule,
    duration_s: float | None,
    every_s: float | None,
    args: tuple[str, ...] | None,
) -> list[str]:
    """What the command line asks that the saved schedule does not: each a readable phrase.
    Options not given agree with anything (resuming needs none of them)."""
    found = []
    if duration_s is not None and duration_s != saved.duration_s:
        found.append(f"--duration {shown(duration_s)} (it has {shown(saved.duration_s)})")
    if every_s is not None and every_s != saved.every_s:
        found.append(f"--every {shown(every_s)} (it has {shown(saved.every_s)})")
    if args and args != saved.args:
        found.append(f"pytest arguments {list(args)} (it has {list(saved.args)})")
    return found


@dataclass(frozen=True)
class Next:
    """The run to make next and when; `missed` are earlier runs whose time has passed."""

    run: int
    at: datetime
    missed: tuple[int, ...] = ()


def next_run(schedule: Schedule, done: Collection[int], now: datetime) -> Next | None:
    """The next run given the runs already `done` (finished or missed); None when all are."""
    pending = [run for run in range(1, schedule.runs + 1) if run not in done]
    if not pending:
        return None
    due = [run for run in pending if schedule.planned(run) <= now]
    if not due:
        return Next(pending[0], schedule.planned(pending[0]))
    return Next(due[-1], now, missed=tuple(due[:-1]))
