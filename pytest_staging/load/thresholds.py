"""What a load run must reach, and every check of a `LoadResult` against it.

`LoadThresholds` holds the limits (`[load]` `p95_ms`, `error_rate`, `min_rps`,
`min_requests`); `checks` judges a result by them and `faults` names what no limit
allows (a task that raised, a locust exit the numbers do not explain). Each `Check`
names its metric, its value and its limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_staging.gate import percent
from pytest_staging.load.result import CAUSES_NAMED, Check

if TYPE_CHECKING:
    from pytest_staging.load.result import LoadResult

DEFAULT_ERROR_RATE = 0.1
"""Percent of a load run's requests that may fail when `error_rate` is not given (the
seeds' "error rate < 0.1 %"): a run with failures is never OK without a limit one sees."""


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
