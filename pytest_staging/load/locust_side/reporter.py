"""Loaded beside every locustfile (`locust -f theirs.py,reporter.py`) by pytest-staging.

It reports with locust's own numbers, so percentiles are exactly the ones
locust shows (bucketed, see docs/performance.md): a progress file every
second and a result file when locust quits, with its failure table and its
exception table (what the tasks raised, which locust counts apart from
failed requests). It also stops locust when the
pytest process that started it is gone, so an aborted run leaves no load
behind. On a worker (distributed or `--processes`) it does nothing: the
master holds the aggregated statistics.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gevent
from locust import events
from locust.runners import WorkerRunner
from locust.stats import StatsError

from pytest_staging.load.locust_side import OUTPUT_ENV, PARENT_ENV, PROGRESS_FILE, RESULT_FILE

if TYPE_CHECKING:
    from collections.abc import Mapping

    from locust.env import Environment
    from locust.stats import StatsEntry

_INTERVAL_S = 1.0
_started: list[float] = []
_history: list[dict[str, Any]] = []


def _output() -> Path | None:
    folder = os.environ.get(OUTPUT_ENV)
    return Path(folder) if folder else None


def _write(name: str, document: dict[str, Any]) -> None:
    folder = _output()
    if folder is None:
        return
    temporary = folder / f".{name}.tmp"
    temporary.write_text(json.dumps(document), encoding="utf-8")
    temporary.replace(folder / name)


def _elapsed() -> float:
    return time.monotonic() - _started[0] if _started else 0.0


def _entry(entry: StatsEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "method": entry.method,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": entry.total_rps,
        "p50_ms": entry.get_response_time_percentile(0.5),
        "p95_ms": entry.get_response_time_percentile(0.95),
        "p99_ms": entry.get_response_time_percentile(0.99),
        "max_ms": entry.max_response_time,
    }


def _error(error: StatsError) -> dict[str, Any]:
    """One row of locust's failure table: the request, what went wrong, how often."""
    return {
        "method": error.method,
        "name": error.name,
        "error": StatsError.parse_error(error.error),
        "occurrences": error.occurrences,
    }


def _exception(row: Mapping[str, Any]) -> dict[str, Any]:
    """One row of locust's exception table (what its tasks raised): how often, the message,
    the traceback (frames only: locust keeps `str(exception)` and `format_tb`)."""
    return {"count": row["count"], "message": row["msg"], "traceback": row["traceback"]}


def _point(environment: Environment) -> dict[str, Any]:
    """Where the run stands; rps over the last interval (locust's current_rps lags a window)."""
    assert environment.runner is not None
    total = environment.stats.total
    elapsed = _elapsed()
    previous = _history[-1] if _history else {"t": 0.0, "requests": 0}
    interval = max(elapsed - previous["t"], 1e-9)
    return {
        "t": round(elapsed, 3),
        "users": environment.runner.user_count,
        "requests": total.num_requests,
        "failures": total.num_failures,
        "rps": round((total.num_requests - previous["requests"]) / interval, 3),
        "p95_ms": total.get_response_time_percentile(0.95),
    }


def _exceptions(environment: Environment) -> list[Mapping[str, Any]]:
    """The master's (or the only runner's) table: workers send theirs to the master."""
    return list(environment.runner.exceptions.values()) if environment.runner else []


def _parent_gone() -> bool:
    parent = os.environ.get(PARENT_ENV)
    return parent is not None and os.getppid() != int(parent)


def _watch(environment: Environment) -> None:
    while True:
        gevent.sleep(_INTERVAL_S)
        if _started:
            point = _point(environment)
            _history.append(point)
            _write(PROGRESS_FILE, point)
        if _parent_gone() and environment.runner is not None:
            environment.runner.quit()
            return


def _reports(environment: Environment) -> bool:
    return _output() is not None and not isinstance(environment.runner, WorkerRunner)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    if _reports(environment):
        gevent.spawn(_watch, environment)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    if _reports(environment) and not _started:
        _started.append(time.monotonic())


@events.quitting.add_listener
def _on_quitting(environment: Environment, **_: Any) -> None:
    if not _reports(environment):
        return
    total = _entry(environment.stats.total)
    _write(
        RESULT_FILE,
        {
            **total,
            "elapsed_s": round(_elapsed(), 3),
            "endpoints": [_entry(entry) for entry in environment.stats.entries.values()],
            "history": _history,
            "errors": [_error(error) for error in environment.stats.errors.values()],
            "exceptions": [_exception(row) for row in _exceptions(environment)],
        },
    )
