"""Latency sampling: exact percentiles, limits named in every breach, bounded concurrency
proven by a real loopback server, and the `staging_latency` fixture deciding the gate."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from inner_run import INNER_RUN_OPTIONS
from servers import serve_plain_api, serve_slow

from pytest_staging.performance.budgets import StagingLatency
from pytest_staging.performance.percentiles import percentiles
from pytest_staging.performance.sampling import LatencySample, sample
from pytest_staging.phase_log import PhaseLog

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

ONE_TO_HUNDRED = tuple(float(n) for n in range(1, 101))


def test_percentiles_of_one_to_a_hundred_interpolate_between_ranks() -> None:
    assert percentiles(list(ONE_TO_HUNDRED)) == pytest.approx(
        {"p50": 50.5, "p95": 95.05, "p99": 99.01, "max": 100.0}
    )


def test_percentiles_do_not_depend_on_the_order_of_the_samples() -> None:
    shuffled = [float(n) for n in (7, 1, 9, 3, 10, 2, 8, 4, 6, 5)]
    assert percentiles(shuffled) == pytest.approx(
        {"p50": 5.5, "p95": 9.55, "p99": 9.91, "max": 10.0}
    )


def test_a_single_sample_is_every_percentile() -> None:
    assert percentiles([42.0]) == {"p50": 42.0, "p95": 42.0, "p99": 42.0, "max": 42.0}
    only = LatencySample("GET /one", (42.0,), errors=0)
    assert (only.p50_ms, only.p95_ms, only.p99_ms, only.max_ms) == (42.0, 42.0, 42.0, 42.0)


def test_sample_properties_follow_the_percentiles() -> None:
    result = LatencySample("GET /api/items", ONE_TO_HUNDRED, errors=0)

    assert result.count == 100
    assert result.p50_ms == pytest.approx(50.5)
    assert result.p95_ms == pytest.approx(95.05)
    assert result.p99_ms == pytest.approx(99.01)
    assert result.max_ms == 100.0
    assert result.describe() == (
        "GET /api/items: p50 50.5 ms, p95 95.0 ms, p99 99.0 ms, max 100.0 ms, "
        "0 error(s) in 100 samples"
    )


def test_error_rate_is_the_percentage_of_samples_not_accepted() -> None:
    assert LatencySample("GET /x", ONE_TO_HUNDRED, errors=5).error_rate == 5.0
    assert LatencySample("GET /x", (1.0, 2.0, 3.0), errors=3).error_rate == 100.0
    assert LatencySample("GET /x", (), errors=0).error_rate == 0.0


def test_breaches_name_the_metric_the_value_and_the_limit() -> None:
    result = LatencySample("GET /api/items", ONE_TO_HUNDRED, errors=10)

    assert result.breaches(p50_ms=50, p95_ms=90, p99_ms=99, max_ms=99.5, error_rate=5) == [
        "GET /api/items: p50 50.5 ms is above the budget p50_ms = 50 ms (100 samples)",
        "GET /api/items: p95 95.0 ms is above the budget p95_ms = 90 ms (100 samples)",
        "GET /api/items: p99 99.0 ms is above the budget p99_ms = 99 ms (100 samples)",
        "GET /api/items: max 100.0 ms is above the budget max_ms = 99.5 ms (100 samples)",
        "GET /api/items: 10 of 100 samples failed (10%), above error_rate = 5%",
    ]


def test_no_breach_within_the_limits_or_exactly_at_them() -> None:
    result = LatencySample("GET /api/items", ONE_TO_HUNDRED, errors=1)

    assert result.breaches() == []
    assert result.breaches(p50_ms=60, p95_ms=96, p99_ms=100, max_ms=100, error_rate=1) == []
    assert result.breaches(p95_ms=95.05) == []


def test_sampling_keeps_to_its_concurrency_and_warms_up_once() -> None:
    with serve_slow(delay_s=0.1) as server, httpx.Client(base_url=server.url) as client:
        result = sample(client, "GET", "/anything", samples=12, concurrency=3)
        seen, most = server.requests, server.max_in_flight

    assert seen == 12 + 1  # the warm-up request is sent but not counted
    assert most == 3
    assert result.count == 12
    assert result.errors == 0
    assert result.name == "GET /anything"
    assert all(duration > 0 for duration in result.durations_ms)


def test_one_at_a_time_never_overlaps() -> None:
    with serve_slow(delay_s=0.02) as server, httpx.Client(base_url=server.url) as client:
        result = sample(client, "GET", "/anything", samples=4, concurrency=1, name="serial")
        seen, most = server.requests, server.max_in_flight

    assert (seen, most) == (5, 1)
    assert result.name == "serial"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_refused_connection_counts_as_an_error_and_is_still_timed() -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{closed_port()}") as client:
        result = sample(client, "GET", "/health", samples=5, concurrency=2)

    assert (result.count, result.errors, result.error_rate) == (5, 5, 100.0)
    assert result.breaches(error_rate=0) == [
        "GET /health: 5 of 5 samples failed (100%), above error_rate = 0%"
    ]


def test_ok_statuses_decide_which_answers_count_as_errors() -> None:
    with (
        serve_plain_api(username="u", password="p") as api,
        httpx.Client(base_url=api.url) as client,
    ):
        by_default = sample(client, "GET", "/v1/things/999", samples=4)
        expected = sample(client, "GET", "/v1/things/999", samples=4, ok_statuses={404})
        narrowed = sample(client, "GET", "/v1/things/1", samples=4, ok_statuses={201})

    assert by_default.errors == 4  # 404 is not below 400
    assert expected.errors == 0
    assert narrowed.errors == 4  # 200 is not in the accepted statuses


@pytest.mark.parametrize(("samples", "concurrency"), [(0, 1), (1, 0)])
def test_samples_and_concurrency_must_be_positive(samples: int, concurrency: int) -> None:
    message = f"samples and concurrency must be 1 or more, got {samples}, {concurrency}"
    with (
        httpx.Client(base_url="http://127.0.0.1:9") as client,
        pytest.raises(ValueError, match=f"^{message}$"),
    ):
        sample(client, "GET", "/", samples=samples, concurrency=concurrency)


def test_the_fixture_refuses_zero_samples_instead_of_using_its_default() -> None:
    with serve_slow(delay_s=0) as server, httpx.Client(base_url=server.url) as client:
        latency = StagingLatency(client, PhaseLog(), samples=20, concurrency=2)
        with pytest.raises(ValueError, match="samples and concurrency must be 1 or more"):
            latency.sample("/anything", samples=0)
        assert server.requests == 0


LATENCY_TESTS = """
import pytest

pytestmark = pytest.mark.performance


def test_generous_budget(staging_latency):
    result = staging_latency.sample("/api/items", samples=10)
    assert result.count == 10
    staging_latency.assert_within(result, p95_ms=60000, error_rate=0)


def test_impossible_budget(staging_latency):
    result = staging_latency.sample("/api/items", samples=10, concurrency=2)
    staging_latency.assert_within(result, p95_ms=0.001)
"""


def test_a_broken_latency_budget_fails_its_test_and_the_gate(
    pytester: pytest.Pytester, read_report: Callable[[Path], dict[str, Any]], demo_url: str
) -> None:
    pytester.makepyfile(test_latency=LATENCY_TESTS)
    report_path = pytester.path / "gate.json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", f"--staging-report={report_path}"
    )
    report = read_report(report_path)

    assert result.ret == 1
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*limits not met:",
            "*- GET /api/items: p95 * ms is above the budget p95_ms = 0.001 ms (10 samples)",
        ]
    )
    assert report["verdict"] == "NO-GO"
    performance = report["categories"]["performance"]
    assert (performance["passed"], performance["failed"], performance["ok"]) == (1, 1, False)
    budget_reasons = [r for r in report["reasons"] if r.startswith("performance: GET ")]
    assert len(budget_reasons) == 1
    assert budget_reasons[0].startswith("performance: GET /api/items: p95 ")
    assert budget_reasons[0].endswith(" ms is above the budget p95_ms = 0.001 ms (10 samples)")
    # every sampled request, warm-ups included, went through the run's request log
    assert report["latency"]["GET /api/items"]["count"] == 2 * (10 + 1)
