"""Load throughput: our locust runner vs bare locust, FastHttpUser vs HttpUser, 2 processes vs 1.

Every variant loads the same demo endpoint for the same time with the same
users; the rps each reaches is compared as a ratio within one run, rounds
interleaved, medians kept. The demo runs on the same 2 cores as locust, so
the service caps what any variant can reach: read the ratios, not the rps.

    python bench/load_throughput.py [--rounds 3] [--duration 5] [--users 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import demo, median, print_table, verdict, wait_for_quiet

from pytest_staging.load.plan import LoadPlan, LoadTask, generated_locustfile
from pytest_staging.load.runner import run_load

HTTP_USER = """
from locust import HttpUser, constant, task


class ItemsUser(HttpUser):
    wait_time = constant(0)

    @task
    def items(self):
        self.client.get("/api/items")
"""


def bare_locust(locustfile: Path, url: str, users: int, duration: float, folder: Path) -> float:
    """rps of `locust --headless` itself, read from its own --json-file."""
    stats = folder / "bare"
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(users),
         "-r", str(users), "-t", f"{duration:g}s", "--host", url, "--only-summary",
         "--loglevel", "WARNING", "--stop-timeout", "1", "--json-file", str(stats)],
        check=False, capture_output=True, timeout=duration + 60,
    )  # fmt: skip
    entries = json.loads(stats.with_suffix(".json").read_text())
    requests = sum(entry["num_requests"] for entry in entries)
    first = min(entry["start_time"] for entry in entries)
    last = max(entry["last_request_timestamp"] for entry in entries)
    return requests / (last - first)


def ours(
    locustfile: Path, url: str, users: int, duration: float, folder: Path, **plan: int
) -> float:
    result = run_load(
        LoadPlan(users=users, duration_s=duration, locustfile=locustfile, **plan), url, folder
    )
    return result.rps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as name, demo() as url:
        folder = Path(name)
        fast = folder / "fast_locustfile.py"
        fast.write_text(generated_locustfile((LoadTask("/api/items"),)))
        slow = folder / "http_user_locustfile.py"
        slow.write_text(HTTP_USER)
        users, duration = args.users, args.duration
        variants = {
            "bare locust (FastHttpUser)": lambda: bare_locust(fast, url, users, duration, folder),
            "ours (FastHttpUser)": lambda: ours(fast, url, users, duration, folder / "a"),
            "ours (HttpUser)": lambda: ours(slow, url, users, duration, folder / "b"),
            "ours --processes 2": lambda: ours(
                fast, url, users, duration, folder / "c", processes=2
            ),
        }
        rps: dict[str, list[float]] = {label: [] for label in variants}
        for number in range(args.rounds):
            order = list(variants)
            order = order[number % len(order) :] + order[: number % len(order)]
            for label in order:
                wait_for_quiet()
                rps[label].append(variants[label]())
    medians = {label: median(values) for label, values in rps.items()}
    print_table(
        ["variant", "median rps", "runs"],
        [[label, medians[label], " ".join(f"{v:.0f}" for v in rps[label])] for label in rps],
    )
    ratio = medians["ours (FastHttpUser)"] / medians["bare locust (FastHttpUser)"]
    verdict("ours / bare locust", ratio, ">= 0.95", ratio >= 0.95)
    fast_ratio = medians["ours (FastHttpUser)"] / medians["ours (HttpUser)"]
    verdict("FastHttpUser / HttpUser", fast_ratio, "about 3.5 (informative)", fast_ratio > 1)
    scale = medians["ours --processes 2"] / medians["ours (FastHttpUser)"]
    verdict("--processes 2 / 1", scale, ">= 1.7", scale >= 1.7)


if __name__ == "__main__":
    main()
