"""Two saved JSON gate reports side by side: what changed, and whether the new run is worse.

Worse means any of: the verdict went from GO to NO-GO, a category's pass rate
fell, a test that passed now fails, a test that ran before did not run now (a
narrower selection checks less), or a request's p95 grew beyond the tolerance
(the `--staging-baseline` rule, with its sample and millisecond floors).
Everything else is shown but does not count against the new run. Two reports
of different targets are not compared at all (`target_difference`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_staging.gate import percent_or_dash
from pytest_staging.report.baseline import Baseline
from pytest_staging.report.terminal import failure_rate

if TYPE_CHECKING:
    from collections.abc import Mapping

_FAILED = {"failed", "error"}
GONE_NAMED = 5
"""Tests that no longer ran named in the reason; the rest are counted."""
_PASSED = {"passed", "xpassed"}


@dataclass
class Comparison:
    """The lines to print, and the reasons the new run is worse (empty when it is not)."""

    lines: list[str] = field(default_factory=list)
    worse: list[str] = field(default_factory=list)


def _rate_delta(old: float | None, new: float | None) -> str:
    if old is None or new is None:
        return ""
    delta = new - old
    return f"{delta:+.1f} pp" if abs(delta) >= 0.05 else "="


def _categories(old: Mapping[str, Any], new: Mapping[str, Any], result: Comparison) -> None:
    result.lines.append(f"{'category':<16} {'old rate':>9} {'new rate':>9} {'change':>9}  result")
    for name in dict.fromkeys([*old, *new]):
        before, after = old.get(name, {}), new.get(name, {})
        old_rate, new_rate = before.get("pass_rate"), after.get("pass_rate")
        status = f"{before.get('status', '-')} -> {after.get('status', '-')}"
        old_shown = percent_or_dash(old_rate, before.get("threshold"))
        new_shown = percent_or_dash(new_rate, after.get("threshold"))
        result.lines.append(
            f"{name[:16]:<16} {old_shown:>9} {new_shown:>9} "
            f"{_rate_delta(old_rate, new_rate):>9}  {status}"
        )
        if old_rate is not None and new_rate is not None and new_rate < old_rate - 0.05:
            result.worse.append(f"{name}: pass rate fell from {old_shown} to {new_shown}")


def _tests(old: list[dict[str, Any]], new: list[dict[str, Any]], result: Comparison) -> None:
    before = {test["nodeid"]: test["outcome"] for test in old}
    after = {test["nodeid"]: test["outcome"] for test in new}
    broken = [node for node, now in after.items() if now in _FAILED and before.get(node) in _PASSED]
    fixed = [node for node, now in after.items() if now in _PASSED and before.get(node) in _FAILED]
    added = after.keys() - before.keys()
    gone = [node for node in before if node not in after]
    result.lines.append(
        f"tests: {len(broken)} newly failing, {len(fixed)} fixed, "
        f"{len(added)} new, {len(gone)} gone"
    )
    result.lines += [f"  newly failing: {node}" for node in broken]
    result.lines += [f"  fixed: {node}" for node in fixed]
    result.lines += [f"  gone: {node}" for node in gone]
    result.worse += [f"newly failing: {node}" for node in broken]
    if gone:
        named = ", ".join(gone[:GONE_NAMED]) + (", ..." if len(gone) > GONE_NAMED else "")
        result.worse.append(f"{len(gone)} test(s) that ran before did not run now: {named}")


def _latency(
    old: Mapping[str, Any], new: Mapping[str, Any], old_name: str, tolerance: float
) -> Comparison:
    result = Comparison()
    common = [name for name in new if name in old]
    if not common:
        return result
    result.lines.append(f"p95 per request ({len(common)} in both runs):")
    for name in sorted(common, key=lambda name: -float(new[name]["p95_ms"])):
        before, after = float(old[name]["p95_ms"]), float(new[name]["p95_ms"])
        change = f"{100 * (after - before) / before:+.0f}%" if before else "new"
        result.lines.append(f"  {name[:40]:<40} {before:>8.1f} -> {after:>8.1f} ms  {change}")
    result.worse += Baseline(old_name, old).regressions(new, tolerance)
    return result


def _load(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    before = {run["name"]: run for run in old}
    lines = []
    for run in new:
        earlier = before.get(run["name"])
        if earlier is None:
            continue
        lines.append(
            f"load {run['name']}: {earlier['rps']:.1f} -> {run['rps']:.1f} req/s, "
            f"p95 {earlier['percentiles']['p95_ms']:g} -> {run['percentiles']['p95_ms']:g} ms, "
            f"failed {failure_rate(earlier)} -> {failure_rate(run)}"
        )
    return lines


def _target(document: Mapping[str, Any]) -> str:
    target = document["target"]
    service = target.get("service")
    return f"{target['url']} (service {service})" if service else str(target["url"])


def target_difference(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """How the targets of two reports differ (their URLs, or their services when both name
    one), or None when both runs checked the same one."""
    before, after = old["target"], new["target"]
    services = before.get("service"), after.get("service")
    other_service = all(services) and services[0] != services[1]
    if before["url"] == after["url"] and not other_service:
        return None
    return f"{_target(old)} vs {_target(new)}"


def compare(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    old_name: str = "old",
    tolerance: float,
) -> Comparison:
    """What changed from `old` to `new` (two validated report documents)."""
    result = Comparison()
    result.lines.append(f"verdict: {old['verdict']} -> {new['verdict']}")
    if old["verdict"] == "GO" and new["verdict"] != "GO":
        result.worse.append("the verdict went from GO to NO-GO")
    _categories(old["categories"], new["categories"], result)
    _tests(old["tests"], new["tests"], result)
    latency = _latency(old["latency"], new["latency"], old_name, tolerance)
    result.lines += latency.lines
    result.worse += latency.worse
    result.lines += _load(old["load"], new["load"])
    return result
