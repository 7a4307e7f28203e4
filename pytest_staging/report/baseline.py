"""Latency regressions against an earlier JSON gate report (`--staging-baseline`).

p95 per request name is compared where both runs have enough samples to make
a p95 meaningful; a request slower than the baseline by more than the
tolerance (percent) *and* by more than a small absolute floor is a
regression. The floor keeps a 2 ms → 3 ms wobble on loopback from failing a
gate; the tolerance is the user's to choose (`settings.parsing.DEFAULT_TOLERANCE`).

The file is read on the controller only, once, when the gate is set up (`from_option`): the
option parser only names it, since every xdist worker parses the options too.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pytest

from pytest_staging.report import saved

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

MIN_SAMPLES = 5
"""Fewer requests than this in either run: p95 is one slow request, so it is not compared."""
FLOOR_MS = 5.0
"""Slower by less than this many milliseconds is noise, whatever the percentage."""


@dataclass(frozen=True)
class Baseline:
    """The latency section of an earlier report, by request name."""

    path: str
    latency: Mapping[str, Mapping[str, Any]]

    def regressions(
        self, current: Mapping[str, Mapping[str, Any]], tolerance: float
    ) -> tuple[str, ...]:
        """One line per request whose p95 grew beyond `tolerance` percent, with the numbers."""
        found = []
        for name, now in sorted(current.items()):
            before = self.latency.get(name)
            if before is None or min(now["count"], before["count"]) < MIN_SAMPLES:
                continue
            old, new = float(before["p95_ms"]), float(now["p95_ms"])
            if new - old > FLOOR_MS and new > old * (1 + tolerance / 100):
                growth = f"{100 * (new - old) / old:.0f}% slower than" if old else "slower than"
                found.append(
                    f"{name}: p95 {new:.1f} ms is {growth} the baseline "
                    f"{old:.1f} ms ({self.path}; tolerance {tolerance:g}%)"
                )
        return tuple(found)


def load(value: str | Path) -> Baseline:
    """Read and check an earlier report; a problem is the option's bad value, its message
    naming the file (the caller names the option)."""
    try:
        document = saved.read(value)
    except saved.ReportFileError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    latency = {name: MappingProxyType(stats) for name, stats in document["latency"].items()}
    return Baseline(str(value), MappingProxyType(latency))


def from_option(path: Path | None) -> Baseline | None:
    """--staging-baseline's report, or None without one; a file that is no readable, valid
    report is a usage error naming the option and the file."""
    if path is None:
        return None
    try:
        return load(path)
    except argparse.ArgumentTypeError as exc:
        raise pytest.UsageError(f"--staging-baseline: {exc}") from None
