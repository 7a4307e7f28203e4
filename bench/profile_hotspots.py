"""Where a gated run spends its time inside pytest_staging, by pyinstrument.

Two runs, each profiled in a child process (so imports are profiled too):
- `per-test`: the bundled endpoint checks of a 400-endpoint manifest against the demo,
  the `ours N=400` run of per_test_cost.py;
- `gate-10k`: 10 000 trivial smoke tests with a target and `--staging-report`, the
  `(c)` run of startup.py.
For each, the functions of our code (package and bundled suites) with the largest
inclusive share of the run's wall, and their own (self) share. Not a benchmark: no goal.
Run: `python bench/profile_hotspots.py [per-test|gate-10k] [--top N]`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ENDPOINT_TESTS,
    clean_env,
    demo,
    print_table,
    workspace,
    write_endpoint_manifest,
)
from startup import write_trivial

if TYPE_CHECKING:
    from pyinstrument.frame import Frame

ENDPOINTS = 400
TRIVIAL_TESTS = 10_000
INTERVAL_S = 0.0005


def our_roots() -> tuple[str, ...]:
    """Folders whose code counts as ours: the package and the installed bundled suites."""
    import pytest_staging
    from pytest_staging.run.bundled_suites import suites_dir

    return (str(Path(pytest_staging.__file__).parent) + "/", str(suites_dir()) + "/")


def profile(args: list[str], cwd: Path) -> Frame:
    """Run pytest with `args` under pyinstrument; the root of the recorded call tree."""
    from pyinstrument.session import Session

    out = cwd / "run.pyisession"
    cmd = [sys.executable, "-m", "pyinstrument", "-i", str(INTERVAL_S), "-r", "pyisession"]
    cmd += ["-o", str(out), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    subprocess.run(cmd, cwd=cwd, env=clean_env(), capture_output=True, check=True, timeout=300)
    root = Session.load(str(out)).root_frame()
    assert root is not None
    return root


def hot_spots(root: Frame, roots: tuple[str, ...]) -> dict[str, list[float]]:
    """Function -> [inclusive s, self s], counting a recursive function once per stack."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    stack: list[tuple[Frame, frozenset[str]]] = [(root, frozenset())]
    while stack:
        frame, above = stack.pop()
        key = above_key = None
        if frame.file_path and frame.file_path.startswith(roots):
            key = f"{frame.function} ({_short(frame.file_path, roots)}:{frame.line_no})"
            totals[key][1] += frame.total_self_time
            if key not in above:
                totals[key][0] += frame.time
                above_key = key
        below = above | {above_key} if above_key else above
        stack.extend((child, below) for child in frame.children)
    return totals


def _short(path: str, roots: tuple[str, ...]) -> str:
    for number, root in enumerate(roots):
        if path.startswith(root):
            return ("pytest_staging/", "suites/")[number] + path[len(root) :]
    return path


def show(title: str, root: Frame, top: int) -> None:
    print(f"\n{title}: {root.time:.2f} s profiled")
    totals = hot_spots(root, our_roots())
    ranked = sorted(totals.items(), key=lambda pair: -pair[1][0])[:top]
    rows = [
        [name, f"{100 * incl / root.time:.1f}", f"{100 * own / root.time:.1f}"]
        for name, (incl, own) in ranked
    ]
    print_table(["function (file:line)", "incl %", "self %"], rows)


def per_test(top: int) -> None:
    with workspace("profile-per-test") as folder, demo("healthy") as url:
        manifest = write_endpoint_manifest(folder, ENDPOINTS)
        args = ["--staging-suites", "--staging-url", url, "--staging-manifest", str(manifest)]
        show("per-test (ours, N=400)", profile([*args, "-k", ENDPOINT_TESTS], folder), top)


def gate_10k(top: int) -> None:
    with workspace("profile-gate") as folder, demo("healthy") as url:
        tests = write_trivial(folder / "tests", TRIVIAL_TESTS)
        args = ["--staging-url", url, "--staging-report", str(folder / "gate.json"), str(tests)]
        show("gate-10k (10 000 trivial tests, target + report)", profile(args, folder), top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", default=["per-test", "gate-10k"])
    parser.add_argument("--top", type=int, default=15)
    options = parser.parse_args()
    runs = {"per-test": per_test, "gate-10k": gate_10k}
    for name in options.runs:
        runs[name](options.top)


if __name__ == "__main__":
    main()
