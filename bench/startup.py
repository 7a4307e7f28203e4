"""Start-up and per-test overhead of the plugin on trivial tests, against `-p no:staging`.

(a) No target configured: `pytest --collect-only` of one trivial test. The plugin must stay
    nearly free (goal: <= +30 ms). `-X importtime` lists what it imports.
(b) Target configured (`--staging-url` of a running demo), 1000 trivial tests (goal <= +5 %).
(c) Target + `--staging-report`, 1000 and 10 000 trivial tests (goal <= +5 %, and the added
    wall grows about linearly with the number of tests).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    clean_env,
    demo,
    interleaved,
    median,
    paired_difference,
    print_table,
    pytest_cmd,
    verdict,
    workspace,
)

ROUNDS_START = 20
ROUNDS_1K = 7
ROUNDS_10K = 3
TESTS_PER_FILE = 1000
GOAL_START_MS = 30.0
GOAL_ADDED = 0.05
OFF = ("-p", "no:staging")
COMMON = ("-q", "-p", "no:cacheprovider")
HEAVY = (
    "httpx", "httpcore", "h11", "anyio", "jsonschema", "referencing", "rpds", "tenacity",
    "prometheus_client", "starlette", "uvicorn", "locust", "gevent", "tomllib", "ssl",
)  # fmt: skip
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def write_trivial(folder: Path, count: int) -> Path:
    """`count` passing tests in files of 1000, marked smoke so a gated run can say GO."""
    folder.mkdir()
    for start in range(0, count, TESTS_PER_FILE):
        body = "import pytest\n\npytestmark = pytest.mark.smoke\n\n\n" + "".join(
            f"def test_{k}():\n    pass\n\n\n" for k in range(start, start + TESTS_PER_FILE)
        )
        (folder / f"test_{start // TESTS_PER_FILE}.py").write_text(body)
    return folder


def startup_without_target(folder: Path) -> dict[str, list[float]]:
    one = write_trivial(folder / "one", 1)
    base = (*COMMON, "--collect-only", str(one))
    variants = {"plugin, no target": pytest_cmd(*base), "-p no:staging": pytest_cmd(*OFF, *base)}
    return interleaved(variants, folder, ROUNDS_START)


def imported_modules(cmd: list[str], cwd: Path) -> dict[str, tuple[int, int]]:
    """Module -> (nesting depth, cumulative import microseconds), from `-X importtime`."""
    done = subprocess.run(
        [cmd[0], "-X", "importtime", *cmd[1:]], cwd=cwd, env=clean_env(), capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    found = {}
    for line in done.stderr.splitlines():
        match = IMPORT_LINE.match(line)
        if match:
            found[match.group(4)] = (len(match.group(3)), int(match.group(2)))
    return found


def import_report(folder: Path) -> None:
    """What the plugin imports, without a target, that a `-p no:staging` run does not."""
    base = [*COMMON, "--collect-only", str(folder / "one")]
    with_plugin = imported_modules(pytest_cmd(*base), folder)
    without = imported_modules(pytest_cmd(*OFF, *base), folder)
    extra = {name: found for name, found in with_plugin.items() if name not in without}
    ours = sorted(name for name in extra if name.startswith("pytest_staging"))
    heavy = sorted({name.split(".")[0] for name in extra if name.split(".")[0] in HEAVY})
    top_level_ms = sum(us for depth, us in extra.values() if depth <= 1) / 1000
    print(f"modules imported only with the plugin (no target): {len(extra)}, {top_level_ms:.1f} ms")
    print("  (pytest loads pytest_staging and .plugin through its rewrite hook: not listed)")
    print(f"  pytest_staging.*: {', '.join(ours) or '-'}")
    print(f"  heavy third-party: {', '.join(heavy) or '-'}")
    top = sorted(extra.items(), key=lambda pair: -pair[1][1])[:8]
    print("  largest cumulative: " + ", ".join(f"{n} {f[1] / 1000:.1f} ms" for n, f in top))


def with_target(folder: Path, url: str) -> dict[str, list[float]]:
    """(b) and (c): 1000 and 10 000 trivial tests, plugin off / target / target + report."""
    target = ("--staging-url", url)
    report = ("--staging-report", str(folder / "gate.json"))
    walls = {}
    for count, rounds in ((1000, ROUNDS_1K), (10_000, ROUNDS_10K)):
        tests = str(write_trivial(folder / f"t{count}", count))
        variants = {
            f"{count} -p no:staging": pytest_cmd(*COMMON, *OFF, tests),
            f"{count} target": pytest_cmd(*COMMON, *target, tests),
            f"{count} target+report": pytest_cmd(*COMMON, *target, *report, tests),
        }
        if count > 1000:
            del variants[f"{count} target"]  # (c) asks only for the report run at 10 000
        walls.update(interleaved(variants, folder, rounds, warmup=count == 1000))
    return walls


def summarize(walls: dict[str, list[float]]) -> None:
    rows = [[name, len(t), median(t), min(t), max(t)] for name, t in walls.items()]
    print_table(["variant", "runs", "median s", "min s", "max s"], rows)


def added(walls: dict[str, list[float]], variant: str, count: int) -> tuple[float, float]:
    """Added seconds (paired median) and added fraction of `variant` over the plugin-off run."""
    off = f"{count} -p no:staging"
    extra = paired_difference(walls, f"{count} {variant}", off)
    return extra, extra / median(walls[off])


def report_startup(start: dict[str, list[float]]) -> None:
    summarize(start)
    plugin, off = median(start["plugin, no target"]), median(start["-p no:staging"])
    print(f"(a) start-up ratio plugin/off: {plugin / off:.3f}, medians {plugin - off:+.3f} s")
    diff_ms = 1000 * paired_difference(start, "plugin, no target", "-p no:staging")
    goal = f"<= {GOAL_START_MS:g} ms"
    verdict("(a) added start-up ms (paired median)", diff_ms, goal, diff_ms <= GOAL_START_MS)


def report_overhead(walls: dict[str, list[float]]) -> None:
    summarize(walls)
    goal = f"<= {GOAL_ADDED:.2f}"
    extra, share = added(walls, "target", 1000)
    print(f"(b) 1000 tests, target: +{extra * 1000:.0f} ms")
    verdict("(b) added fraction", share, goal, share <= GOAL_ADDED)
    small, small_share = added(walls, "target+report", 1000)
    large, large_share = added(walls, "target+report", 10_000)
    print(f"(c) target+report: +{small * 1000:.0f} ms at 1000, +{large * 1000:.0f} ms at 10 000")
    marginal_ms = 1000 * (large - small) / 9
    print(f"(c) added per 1000 tests: {small * 1000:.0f} ms (first), {marginal_ms:.0f} ms (next)")
    verdict("(c) added fraction at 1000", small_share, goal, small_share <= GOAL_ADDED)
    verdict("(c) added fraction at 10 000", large_share, goal, large_share <= GOAL_ADDED)


def main() -> None:
    with workspace("startup") as folder:
        report_startup(startup_without_target(folder))
        import_report(folder)
        with demo("healthy") as url:
            walls = with_target(folder, url)
    report_overhead(walls)


if __name__ == "__main__":
    main()
