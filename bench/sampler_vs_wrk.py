"""Our latency sampler's p50 against wrk's p50 on the same endpoint with a 20 ms server delay.

wrk is a C load generator with negligible client overhead, so it is the reference for
what the server's latency is; our sampler (httpx in Python threads) should agree within
5 %. Both use one connection; the two tools take turns, round by round.

Goal: 0.95 <= p50(ours) / p50(wrk) <= 1.05. Needs `wrk` on PATH (`apt-get install wrk`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import demo, median, print_table, verdict, wait_for_quiet

PATH = "/api/items"
DELAY_MS = 20
ROUNDS = 5
SAMPLES = 200
CONCURRENCY = 1
WRK_SECONDS = 5
GOAL = (0.95, 1.05)
WRK_P50 = re.compile(r"^\s*50%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
TO_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def ours_p50(url: str) -> float:
    import httpx

    from pytest_staging.performance.sampling import sample

    with httpx.Client(base_url=url) as client:
        result = sample(client, "GET", PATH, samples=SAMPLES, concurrency=CONCURRENCY)
    if result.errors:
        raise SystemExit(f"our sampler saw {result.errors} failed requests")
    return result.p50_ms


def wrk_p50(url: str) -> float:
    """wrk's own 50 % latency line (`--latency`), in ms."""
    cmd = ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{WRK_SECONDS}s", "--latency", url + PATH]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60)
    match = WRK_P50.search(done.stdout)
    if match is None or "Non-2xx" in done.stdout:
        raise SystemExit(f"cannot read wrk's p50, or it saw errors:\n{done.stdout}")
    return float(match.group(1)) * TO_MS[match.group(2)]


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    rows = []
    with demo("slow", slow_delay_ms=DELAY_MS) as url:
        ours_p50(url)  # warm-up: first requests of a fresh server are slower
        for number in range(ROUNDS):
            order = (ours_p50, wrk_p50) if number % 2 == 0 else (wrk_p50, ours_p50)
            results, busy = {}, []
            for tool in order:
                busy.append(wait_for_quiet())
                results[tool] = tool(url)
            rows.append([number + 1, results[ours_p50], results[wrk_p50], f"{max(busy):.0%}"])
    print_table(["round", "ours p50 ms", "wrk p50 ms", "CPU busy before"], rows)
    ours, wrk = median([row[1] for row in rows]), median([row[2] for row in rows])
    print(f"median p50: ours {ours:.3f} ms, wrk {wrk:.3f} ms")
    low, high = GOAL
    verdict("ratio ours/wrk", ours / wrk, f"{low}-{high}", low <= ours / wrk <= high)


if __name__ == "__main__":
    main()
