"""The outcome of one load run, read from the file locust's side wrote (locust's own numbers)."""

from __future__ import annotations

import re
import sysconfig
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pytest_staging.gate import percent
from pytest_staging.redaction import redactor

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from pathlib import Path

NUMBERS = ("requests", "failures", "rps", "p50_ms", "p95_ms", "p99_ms", "max_ms")
"""The totals the reporter writes (see locust_side/reporter.py)."""
_BAD_STATUS = re.compile(r"^LocustBadStatusCode\(code=(\d+)\)$")
_CAUGHT = re.compile(r"^CatchResponseError\((.*)\)$", re.DOTALL)
_FRAME = re.compile(r'^ *File "(.*)", line (\d+), in .*\n *(.*)$', re.MULTILINE)
"""A frame of `traceback.format_tb`: the file, the line number, and the code on the next line."""
_CAUSE_CHARS = 160
CAUSES_KEPT = 10
"""Failure causes (and task errors) kept in the report, most frequent first."""
CAUSES_NAMED = 3
"""Failure causes the reasons and the load line name, and request names named per cause."""


def cause_of(error: str) -> str:
    """locust's error text as one short line: `HTTP 503` for a bad status, the exception
    otherwise (`ConnectionRefusedError(111, 'Connection refused')`), unwrapped and cut."""
    caught = _CAUGHT.match(error)
    text = caught[1].strip("'\"") if caught else error
    status = _BAD_STATUS.match(text)
    return f"HTTP {status[1]}" if status else one_line(text)


def one_line(text: str) -> str:
    """Text from the locust side (a target's body can be in it) as one short line: masked,
    control characters escaped, cut."""
    words = " ".join(text.split())  # one line; other control characters escaped, not sent
    line = redactor.redact("".join(c if c.isprintable() else ascii(c)[1:-1] for c in words))
    return line if len(line) <= _CAUSE_CHARS else line[: _CAUSE_CHARS - 3] + "..."


@dataclass(frozen=True)
class FailureCause:
    """One cause of failed requests, summed over the request names it hit."""

    cause: str
    count: int
    requests: tuple[str, ...]

    def describe(self, named: int = CAUSES_NAMED) -> str:
        """`HTTP 503 (120, GET /health)`: the cause, how often, and where."""
        more = len(self.requests) - named
        where = ", ".join(self.requests[:named]) + (f" and {more} more" if more > 0 else "")
        return f"{self.cause} ({self.count}, {where})"

    def to_dict(self) -> dict[str, Any]:
        return {"cause": self.cause, "count": self.count, "requests": list(self.requests)}


def failure_causes(errors: Iterable[Mapping[str, Any]]) -> tuple[FailureCause, ...]:
    """locust's failure table (one row per request name and error) grouped by cause; causes
    and, within one, request names ordered by count (then name), so the text is stable."""
    hits: dict[str, dict[str, int]] = {}
    for row in errors:
        per_request = hits.setdefault(cause_of(str(row["error"])), {})
        name = str(row["name"])
        per_request[name] = per_request.get(name, 0) + int(row["occurrences"])
    causes = [
        FailureCause(cause, sum(counts.values()), _most_first(counts))
        for cause, counts in hits.items()
    ]
    return tuple(sorted(causes, key=lambda cause: (-cause.count, cause.cause)))


@dataclass(frozen=True)
class TaskError:
    """An exception a locust task raised (an `assert` on a response, a bug in the locustfile):
    locust counts it apart from failed requests and exits 1 for it."""

    error: str
    """The message, else the line that raised (a bare `assert` has no message)."""
    count: int
    where: str
    """`lf.py:8`: the traceback's last frame in the user's code (see `_users_frame`)."""

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> TaskError:
        """From the reporter's row: `message` is `str(exception)`, `traceback` its frames."""
        frames = _FRAME.findall(str(row.get("traceback", "")))
        file, line, code = _users_frame(frames) if frames else ("?", "?", "")
        message = str(row.get("message", "")) or code or "an exception without a message"
        where = f"{file.replace(chr(92), '/').rpartition('/')[2]}:{line}"
        return cls(one_line(message), int(row["count"]), one_line(where))

    def describe(self) -> str:
        """`health is not ok (12, at lf.py:8)`: the error, how often, and where."""
        return f"{self.error} ({self.count}, at {self.where})"

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.error, "count": self.count, "where": self.where}


def _users_frame(frames: list[tuple[str, str, str]]) -> tuple[str, str, str]:
    """The last frame outside the libraries and the standard library (an error raised inside
    `requests` or `json` is told where the locustfile called them), else the last one."""
    library = (sysconfig.get_paths()["stdlib"], "site-packages", "dist-packages")
    own = [frame for frame in frames if not any(part in frame[0] for part in library)]
    return (own or frames)[-1]


def task_errors(rows: Iterable[Mapping[str, Any]]) -> tuple[TaskError, ...]:
    """locust's exception table, most frequent first."""
    errors = (TaskError.from_row(row) for row in rows)
    return tuple(sorted(errors, key=lambda error: (-error.count, error.error)))


def _most_first(counts: Mapping[str, int]) -> tuple[str, ...]:
    return tuple(sorted(counts, key=lambda name: (-counts[name], name)))


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


class Limits(Protocol):
    """The limits a result was judged by (`thresholds.LoadThresholds`), as the report shows
    them."""

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LoadResult:
    """Totals over the whole run; `endpoints` per request name, `history` once a second."""

    name: str
    users: int
    spawn_rate: float
    duration_s: float
    processes: int | None
    workers: int | None
    elapsed_s: float
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    endpoints: tuple[Mapping[str, Any], ...] = ()
    history: tuple[Mapping[str, Any], ...] = ()
    causes: tuple[FailureCause, ...] = ()
    """Why requests failed, most frequent first (locust's failure table)."""
    task_errors: tuple[TaskError, ...] = ()
    """What the tasks raised, most frequent first (locust's exception table)."""
    exit_code: int = 0
    log: Path | None = None
    """locust's log, which says more when its exit code is not explained by the numbers."""

    @property
    def task_error_count(self) -> int:
        return sum(error.count for error in self.task_errors)

    @property
    def exit_explained(self) -> bool:
        """locust exits 1 when a request failed or a task raised (`--exit-code-on-error`):
        any other non-zero code (2 for a crashed greenlet, a code a locustfile set in
        `environment.process_exit_code`) reports a problem the numbers do not show."""
        return self.exit_code == 0 or (
            self.exit_code == 1 and bool(self.failures or self.task_errors)
        )

    @property
    def failure_rate(self) -> float:
        """Percent of requests that failed; 0 when none were made."""
        return 100.0 * self.failures / self.requests if self.requests else 0.0

    def top_failures(self, named: int = CAUSES_NAMED) -> str:
        """`top failures: HTTP 503 (120, GET /health); ...`, or "" when none failed."""
        if not self.causes:
            return ""
        shown = "; ".join(cause.describe() for cause in self.causes[:named])
        more = len(self.causes) - named
        return f"top failures: {shown}{f'; {more} more cause(s)' if more > 0 else ''}"

    def describe(self) -> str:
        return (
            f"{self.requests} requests in {self.elapsed_s:.1f}s, {self.rps:.1f} req/s, "
            f"{percent(self.failure_rate)} failed, p50 {self.p50_ms:g} ms, p95 {self.p95_ms:g} ms, "
            f"p99 {self.p99_ms:g} ms"
        )

    def to_dict(
        self, thresholds: Limits, checks: Sequence[Check], faults: Sequence[Check]
    ) -> dict[str, Any]:
        """The `load` entry of the JSON report: `checks` are the thresholds, `faults` what
        no threshold allows (task errors, an unexplained exit). `notes` are what its load line
        shows after the totals: the error-rate limit in force, every broken limit or fault,
        the top failure causes."""
        notes = [
            check.summary
            for check in [*checks, *faults]
            if check.metric == "error_rate" or not check.ok
        ]
        return {
            "name": self.name,
            "users": self.users,
            "spawn_rate": self.spawn_rate,
            "duration_s": self.duration_s,
            "processes": self.processes,
            "workers": self.workers,
            "elapsed_s": self.elapsed_s,
            "requests": self.requests,
            "failures": self.failures,
            "failure_rate": round(self.failure_rate, 4),
            "rps": round(self.rps, 3),
            "percentiles": {
                "p50_ms": self.p50_ms,
                "p95_ms": self.p95_ms,
                "p99_ms": self.p99_ms,
                "max_ms": round(self.max_ms, 3),
            },
            "endpoints": [dict(entry) for entry in self.endpoints],
            "history": [dict(point) for point in self.history],
            "thresholds": thresholds.to_dict(),
            "checks": [check.to_dict() for check in checks],
            "ok": all(check.ok for check in [*checks, *faults]),
            "failure_causes": [cause.to_dict() for cause in self.causes[:CAUSES_KEPT]],
            "task_errors": [error.to_dict() for error in self.task_errors[:CAUSES_KEPT]],
            "exit_code": self.exit_code,
            "notes": [*notes, self.top_failures()] if self.causes else notes,
        }
