"""The objects behind the `staging_latency` and `staging_load` fixtures.

Both record what they measured for the reports and turn a broken limit into
a test failure whose message names the metric, the value and the limit; the
same line becomes a gate reason, because a declared budget is a gate. A load
test's own cause names its broken limits in brief (the load line's words), so
the reasons say each in full once.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pytest_staging.http.client import default_headers
from pytest_staging.http.target import basic_authorization
from pytest_staging.load.locust_side import CA_BUNDLE_ENV, HEADERS_ENV, INSECURE_ENV
from pytest_staging.load.plan import LoadPlan, LoadTask, seconds
from pytest_staging.load.runner import LoadError, run_load
from pytest_staging.load.thresholds import LoadThresholds, faults
from pytest_staging.performance import sampling

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    import httpx

    from pytest_staging.http.target import StagingTarget
    from pytest_staging.load.result import LoadResult
    from pytest_staging.performance.sampling import LatencySample
    from pytest_staging.phase_log import PhaseLog
    from pytest_staging.settings.resolution import StagingSettings


def _fail(
    breaches: list[str], phase_log: PhaseLog, summary: str, first: str = "limits not met:"
) -> None:
    """Fail the test; `first` is its cause in the gate's reasons (a line ending in ':' lets
    the next line, the first breach, be the cause)."""
    phase_log.add_breaches(breaches)
    lines = "\n".join(f"  - {breach}" for breach in breaches)
    raise pytest.fail.Exception(f"{first}\n{lines}\n{summary}", pytrace=False)


class StagingLatency:
    """Samples one request N times with bounded concurrency; checks percentiles against limits."""

    def __init__(
        self, client: httpx.Client, phase_log: PhaseLog, samples: int, concurrency: int
    ) -> None:
        self._client = client
        self._phase_log = phase_log
        self.samples = samples
        self.concurrency = concurrency

    def sample(
        self,
        path: str,
        method: str = "GET",
        *,
        samples: int | None = None,
        concurrency: int | None = None,
        client: httpx.Client | None = None,
        **request: Any,
    ) -> LatencySample:
        """Time `method path` (client-observed, send to body read); exact percentiles."""
        return sampling.sample(
            client or self._client,
            method,
            path,
            samples=self.samples if samples is None else samples,
            concurrency=self.concurrency if concurrency is None else concurrency,
            **request,
        )

    def assert_within(
        self,
        result: LatencySample,
        *,
        p50_ms: float | None = None,
        p95_ms: float | None = None,
        p99_ms: float | None = None,
        max_ms: float | None = None,
        error_rate: float | None = None,
    ) -> None:
        """Fail, naming each metric over its limit; the breach is also a gate reason."""
        breaches = result.breaches(
            p50_ms=p50_ms, p95_ms=p95_ms, p99_ms=p99_ms, max_ms=max_ms, error_rate=error_rate
        )
        if breaches:
            _fail(breaches, self._phase_log, result.describe())


class StagingLoad:
    """Runs locust in a subprocess against the target and checks the result's thresholds."""

    def __init__(
        self,
        settings: StagingSettings,
        target: StagingTarget,
        workdir: Callable[[], Path],
        phase_log: PhaseLog,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._target = target
        self._workdir = workdir
        self._phase_log = phase_log
        self._progress = progress

    def from_manifest(self) -> LoadResult:
        """The manifest's `[load]` run; skipped when the manifest declares none."""
        declared = self._settings.manifest.load
        if declared is None:
            pytest.skip("no [load] table in the manifest")
        return self.run_plan(declared.plan, declared.thresholds)

    def run(
        self,
        *,
        tasks: Sequence[LoadTask | str] = (),
        locustfile: Path | None = None,
        users: int = 10,
        spawn_rate: float | None = None,
        duration: float | str = 10.0,
        wait_ms: float = 0.0,
        processes: int | None = None,
        p95_ms: float | None = None,
        error_rate: float | None = None,
        min_rps: float | None = None,
        min_requests: int = 1,
        timeout_s: float | None = None,
        **distributed: Any,
    ) -> LoadResult:
        """Build a plan (tasks as `LoadTask`s or plain GET paths) and run it; see `run_plan`.

        Without `error_rate`, the default limit `load.thresholds.DEFAULT_ERROR_RATE` applies.
        """
        plan = LoadPlan(
            users=users,
            spawn_rate=spawn_rate,
            duration_s=seconds(duration),
            wait_ms=wait_ms,
            tasks=tuple(LoadTask(task) if isinstance(task, str) else task for task in tasks),
            locustfile=locustfile,
            processes=processes,
            **distributed,
        )
        thresholds = LoadThresholds(p95_ms, error_rate, min_rps, min_requests)
        return self.run_plan(plan, thresholds, timeout_s=timeout_s)

    def run_plan(
        self, plan: LoadPlan, thresholds: LoadThresholds, *, timeout_s: float | None = None
    ) -> LoadResult:
        """Run, record the result for the reports, and fail on any threshold not met.

        Refused (skipped) on a sensitive environment unless
        `--staging-allow-sensitive-load`; a run that produced no result fails.
        """
        settings = self._settings
        if settings.sensitive and not settings.allow_sensitive_load:
            pytest.skip(
                f"load refused: environment {settings.sensitive_environment!r} is marked "
                "sensitive; pass --staging-allow-sensitive-load to load it anyway"
            )
        try:
            result = run_load(
                plan,
                self._target.url,
                self._workdir(),
                environ=self._locust_environ(),
                on_progress=self._show if self._progress else None,
                timeout_s=timeout_s,
            )
        except LoadError as exc:  # a declared load gate that gave no result has failed
            reason = f"load {plan.name}: no result: {exc}"
            self._phase_log.add_breaches([reason.splitlines()[0]])
            # The breach (a gate reason) says why; the test's own cause only says what.
            raise pytest.fail.Exception(
                f"load {plan.name}: no result\n{reason}", pytrace=False
            ) from None
        checks, wrong = thresholds.checks(result), faults(result)
        self._phase_log.add_load(result.to_dict(thresholds, checks, wrong))
        broken = [check for check in [*wrong, *checks] if not check.ok]
        if broken:
            # The test's cause names the broken limits in brief (the load line's form); each
            # breach, a gate reason of its own, carries the detail: said once each.
            brief = "; ".join(check.summary for check in broken)
            _fail(
                [f"load {plan.name}: {check.message}" for check in broken],
                self._phase_log,
                f"load {plan.name}: {result.describe()}",
                first=f"load {plan.name}: {brief}",
            )
        return result

    def _locust_environ(self) -> dict[str, str]:
        """Headers and TLS trust for locust's users, passed by environment, not argv."""
        headers = default_headers(self._settings)
        target = self._target
        if target.username is not None and target.password is not None:
            headers["Authorization"] = basic_authorization(target.username, target.password)
        environ = {HEADERS_ENV: json.dumps(headers)}
        if self._settings.ca_bundle is not None:
            environ[CA_BUNDLE_ENV] = str(self._settings.ca_bundle)
            # For `requests` a locustfile calls itself; HttpUser's session ignores the
            # environment (locust sets trust_env = False): locust_side/trust.py sets its verify.
            environ["REQUESTS_CA_BUNDLE"] = str(self._settings.ca_bundle)
        if self._settings.insecure:
            environ[INSECURE_ENV] = "1"
        return environ

    def _show(self, point: Mapping[str, Any], plan: LoadPlan) -> None:
        assert self._progress is not None
        self._progress(
            f"staging load: {point['t']:.0f}s of {plan.duration_s:g}s, {point['users']} users, "
            f"{point['requests']} requests, {point['rps']:.1f} req/s, "
            f"{point['failures']} failures"
        )
