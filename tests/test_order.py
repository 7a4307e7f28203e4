"""Smoke and critical tests run first, in the same order in every xdist worker.

Issue 14, defect 11: the suites ran alphabetically, so the critical health check ran after
a load test had sent its requests to a service whose /health answered 503.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from inner_run import INNER_RUN_OPTIONS

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

Read = Callable[["Path"], dict[str, Any]]

FILES = {
    "test_a_load": """
import pytest

@pytest.mark.performance
@pytest.mark.parametrize("n", range(3))
def test_hammers_the_items(n, staging_client):
    for _ in range(10):
        staging_client.get("/api/items")
""",
    "test_b_flows": """
import pytest

@pytest.mark.integration
def test_round_trip(staging_client):
    assert staging_client.get("/api/items").status_code == 200

@pytest.mark.security
@pytest.mark.critical
def test_no_server_header(staging_client):
    assert "x-powered-by" not in staging_client.get("/health").headers

@pytest.mark.smoke
def test_items_answer(staging_client):
    assert staging_client.get("/api/items").status_code == 200
""",
    "test_z_health": """
import pytest

@pytest.mark.smoke
@pytest.mark.critical
def test_health_answers_200(staging_client):
    assert staging_client.get("/health").status_code == 200
""",
}
GATE_ORDER = [
    "test_z_health.py::test_health_answers_200",
    "test_b_flows.py::test_items_answer",
    "test_b_flows.py::test_no_server_header",
    "test_a_load.py::test_hammers_the_items[0]",
    "test_a_load.py::test_hammers_the_items[1]",
    "test_a_load.py::test_hammers_the_items[2]",
    "test_b_flows.py::test_round_trip",
]
"""Smoke and critical first, smoke before critical; each group in collection order."""

WRITES_THE_ORDER = """
import json, os

def pytest_collection_finish(session):
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(f"order-{worker}.json", "w") as stream:
        json.dump([item.nodeid for item in session.items], stream)
"""
"""Each process writes the order it will run its tests in, after every reordering."""


def test_the_critical_health_check_runs_before_the_load_on_a_broken_service(
    pytester: pytest.Pytester, demo_servers: Callable[..., str], read_report: Read
) -> None:
    pytester.makepyfile(**FILES)

    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        f"--staging-url={demo_servers('degraded')}",
        "--staging-report=gate.json",
    )
    report = read_report(pytester.path / "gate.json")

    assert result.ret == 1
    assert [test["nodeid"] for test in report["tests"]] == GATE_ORDER
    assert report["tests"][0]["outcome"] == "failed"
    assert report["reasons"][0].startswith(
        "critical test failed: test_z_health.py::test_health_answers_200: "
    )


def test_every_xdist_worker_collects_the_same_gate_order(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(**FILES)
    pytester.makeconftest(WRITES_THE_ORDER)

    result = pytester.runpytest_subprocess(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "-n", "2"
    )

    assert result.ret == 0
    orders = {path.name: path.read_text() for path in pytester.path.glob("order-gw*.json")}
    assert sorted(orders) == ["order-gw0.json", "order-gw1.json"]
    assert [json.loads(order) for order in orders.values()] == [GATE_ORDER, GATE_ORDER]


def test_the_bundled_rate_limit_probe_still_runs_last(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, "--staging-suites", "--staging-demo", "--co", "-q"
    )

    nodeids = [line for line in result.stdout.lines if "::" in line]
    assert result.ret == 0
    smoke = [n for n, nodeid in enumerate(nodeids) if "/smoke/" in nodeid]
    assert smoke == list(range(len(smoke)))
    assert "test_rate_limit_answers_429" in nodeids[-1]
