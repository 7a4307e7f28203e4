"""Speed-up of `-n 4` over `-n 0` on an I/O-bound manifest suite.

The demo runs in mode `slow` (20 ms on every /api request), so the tests mostly wait on
the network and four workers should overlap that waiting even on two cores. Workers cost
start-up (each imports pytest and the plugin), which this ratio includes on purpose: it is
what a CI run with `-n 4` pays. For reference the same requests and checks, hand-written
and run with `-p no:staging`, show what xdist itself gains on this machine.

Goal: wall(-n 0) / wall(-n 4) >= 1.8.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    CHECKS_PER_ENDPOINT,
    ENDPOINT_TESTS,
    demo,
    interleaved,
    median,
    print_table,
    pytest_cmd,
    verdict,
    workspace,
    write_endpoint_manifest,
)
from per_test_cost import copy_envelope_schema, write_hand_written

ENDPOINTS = 120
"""120 endpoints x 3 checks = 360 tests, each waiting 20 ms on the server: enough work for four
workers to earn back their start-up on two cores."""
DELAY_MS = 20
ROUNDS = 3
WORKERS = 4
GOAL = 1.8


def variants(folder: Path, url: str) -> dict[str, list[str]]:
    """Ours at -n 0 and -n 4, then the hand-written reference at both."""
    manifest = write_endpoint_manifest(folder, ENDPOINTS)
    copy_envelope_schema(folder)
    hand = write_hand_written(folder, ENDPOINTS, url)
    ours = (
        "-q", "-p", "no:cacheprovider", "--staging-suites", "--staging-url", url,
        "--staging-manifest", str(manifest), "-k", ENDPOINT_TESTS,
    )  # fmt: skip
    reference = ("-q", "-p", "no:cacheprovider", "-p", "no:staging", str(hand))
    runs = {}
    for workers in (0, WORKERS):
        runs[f"ours -n {workers}"] = pytest_cmd(*ours, "-n", str(workers))
        runs[f"hand -n {workers}"] = pytest_cmd(*reference, "-n", str(workers))
    return runs


def speedup(walls: dict[str, list[float]], side: str) -> float:
    return median(walls[f"{side} -n 0"]) / median(walls[f"{side} -n {WORKERS}"])


def main() -> None:
    checks = ENDPOINTS * CHECKS_PER_ENDPOINT
    print(f"{checks} endpoint checks, server delay {DELAY_MS} ms")
    with workspace("xdist") as folder, demo("slow", slow_delay_ms=DELAY_MS) as url:
        walls = interleaved(variants(folder, url), folder, ROUNDS)
    rows = [[name, len(t), median(t), min(t), max(t)] for name, t in walls.items()]
    print_table(["variant", "runs", "median s", "min s", "max s"], rows)
    print(f"reference, hand-written: speed-up {speedup(walls, 'hand'):.3f}")
    ours = speedup(walls, "ours")
    verdict(f"speed-up ours -n 0 / -n {WORKERS}", ours, f">= {GOAL}", ours >= GOAL)


if __name__ == "__main__":
    main()
