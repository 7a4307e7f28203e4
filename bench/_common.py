"""Shared helpers for the benchmarks: local demo server, isolated pytest runs, interleaved timing.

Every benchmark compares variants side by side in one run on one machine, so
results are ratios, never absolute timings. The machine is noisy, so variants
are interleaved round by round and each one is summarised by its median.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

ENDPOINT_TESTS = (
    "test_endpoint_answers_with_its_status or test_endpoint_keeps_the_envelope"
    " or test_body_matches_its_schema"
)
"""`-k` for the bundled suites' three checks per endpoint: status, envelope, schema."""
CHECKS_PER_ENDPOINT = 3
RUN_TIMEOUT_S = 240
"""No single pytest run of a benchmark may take longer than this."""
QUIET_BUSY = 0.25
"""Before each timed run, wait while other processes keep the CPUs busier than this..."""
QUIET_PATIENCE_S = 10.0
"""...but no longer than this per run,"""
QUIET_BUDGET_S = 60.0
"""...nor this in all, so a benchmark on a machine that is never quiet still ends in time."""
_waited_s = 0.0

PYTEST_INI = "[pytest]\nmarkers =\n    smoke: x\n    integration: x\n"
"""An ini file of its own makes the temp folder the rootdir (no repository addopts); the
markers let hand-written tests run with `-p no:staging`, which then registers none."""


@contextlib.contextmanager
def demo(mode: str = "healthy", **options: int) -> Iterator[str]:
    """Run the bundled demo service on 127.0.0.1 and stop that very child (by its PID) after."""
    from pytest_staging.demo.modes import DemoOptions
    from pytest_staging.demo.server import DemoServer

    server = DemoServer(DemoOptions(mode=mode, **options))
    url = server.start()
    print(f"demo ({mode}) at {url}, pid {server.pid}")
    try:
        yield url
    finally:
        server.stop()


@contextlib.contextmanager
def workspace(prefix: str) -> Iterator[Path]:
    """A temp folder that is its own pytest rootdir, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{prefix}-") as folder:
        path = Path(folder)
        (path / "pytest.ini").write_text(PYTEST_INI)
        yield path


def endpoint_cases(size: int) -> list[tuple[str, str]]:
    """(test id, path) per endpoint; the demo seeds 25 items, 10 a page: pages 1-3 hold items."""
    return [(f"items {k}", f"/api/items?page={1 + k % 3}") for k in range(size)]


def write_endpoint_manifest(folder: Path, size: int) -> Path:
    """A manifest of `size` enveloped endpoints with the demo's page schema, next to it."""
    import pytest_staging

    schema = Path(pytest_staging.__file__).parent / "demo" / "schemas" / "item-page.json"
    shutil.copy(schema, folder)
    blocks = [
        f'[[endpoints]]\nname = "{name}"\npath = "{path}"\nenvelope = true\n'
        'schema = "item-page.json"\n'
        for name, path in endpoint_cases(size)
    ]
    manifest = folder / f"staging_{size}.toml"
    manifest.write_text("\n".join(blocks))
    return manifest


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any PYTEST_* setting that could steer a run."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    env.update(extra)
    return env


def pytest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *args]


def run_once(cmd: Sequence[str], cwd: Path, ok_codes: Sequence[int] = (0,)) -> float:
    """Wall seconds of one subprocess; a bad exit code stops the benchmark with its output."""
    start = time.perf_counter()
    done = subprocess.run(
        cmd, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    if done.returncode not in ok_codes:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-25:])
        raise SystemExit(f"exit {done.returncode}: {' '.join(cmd)}\n{tail}")
    return wall


def cpu_busy(interval_s: float = 0.3) -> float:
    """Fraction of all CPUs busy over `interval_s` (Linux /proc/stat; 0.0 elsewhere)."""
    stat = Path("/proc/stat")
    if not stat.exists():
        return 0.0

    def idle_and_total() -> tuple[int, int]:
        values = [int(field) for field in stat.read_text().split("\n", 1)[0].split()[1:]]
        return values[3] + values[4], sum(values)

    idle_before, total_before = idle_and_total()
    time.sleep(interval_s)
    idle_after, total_after = idle_and_total()
    total = total_after - total_before
    return 1.0 - (idle_after - idle_before) / total if total else 0.0


def wait_for_quiet() -> float:
    """Wait (bounded) until others leave the CPUs mostly idle; the last busy fraction seen."""
    global _waited_s  # noqa: PLW0603 - one waiting budget per benchmark process
    start = time.monotonic()
    deadline = start + min(QUIET_PATIENCE_S, max(0.0, QUIET_BUDGET_S - _waited_s))
    busy = cpu_busy()
    while busy > QUIET_BUSY and time.monotonic() < deadline:
        busy = cpu_busy()
    _waited_s += time.monotonic() - start
    return busy


def interleaved(
    variants: Mapping[str, Sequence[str]], cwd: Path, rounds: int, warmup: bool = True
) -> dict[str, list[float]]:
    """Run each variant once per round, in rotating order, after one untimed warm-up each.

    Each timed run starts at a quiet moment if one comes soon; the CPU load found before
    the runs is printed, so a noisy result can be told apart from a slow one.
    """
    names = list(variants)
    if warmup:
        for name in names:
            run_once(variants[name], cwd)
    walls: dict[str, list[float]] = {name: [] for name in names}
    busy = []
    for number in range(rounds):
        shift = number % len(names)
        for name in names[shift:] + names[:shift]:
            busy.append(wait_for_quiet())
            walls[name].append(run_once(variants[name], cwd))
    print(
        f"CPU busy before the timed runs: median {median(busy):.0%}, max {max(busy):.0%}"
        f" (waited {_waited_s:.0f} s in all for quiet)"
    )
    return walls


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def paired_difference(walls: Mapping[str, Sequence[float]], first: str, second: str) -> float:
    """Median over rounds of first - second: both ran in the same round, so slow spells of
    the machine cancel better than in a difference of two medians."""
    pairs = zip(walls[first], walls[second], strict=True)
    return median([one - other for one, other in pairs])


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned table: numbers right-aligned, text left-aligned."""
    cells = [[_cell(value) for value in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print("  ".join(_align(text, width) for text, width in zip(row, widths, strict=True)))


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _align(text: str, width: int) -> str:
    return text.rjust(width) if _is_number(text) else text.ljust(width)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def verdict(label: str, value: float, goal: str, met: bool) -> None:
    print(f"{label}: {value:.3f}  goal {goal}  -> {'MET' if met else 'MISSED'}")
