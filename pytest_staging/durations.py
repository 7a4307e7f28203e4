"""Durations as people write them (`500ms`, `30s`, `10m`, `2h`, `1h30m`, `1d`), and as shown.

One grammar for every duration the plugin reads: numbers with a unit, largest unit first,
each unit at most once, no spaces inside (`1h30m`, `1.5s`, `2m30s`). A caller may narrow
the units it takes (a load run is not given in days, a soak is not paced in milliseconds),
never the grammar. A bare number is no duration here: `--every 2` could mean seconds or
hours, and a soak that runs every 2 seconds instead of every 2 hours is a costly
misunderstanding. Where a bare number means seconds (a load run's duration given as a
number, `--staging-timeout 30`), the caller says so before asking this module.
"""

from __future__ import annotations

import argparse
import re
from functools import cache

UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
"""Every unit, largest first, in seconds."""
SOAK_UNITS = ("d", "h", "m", "s")
"""The units of a soak's durations (`--duration`, `--every`, `--run-timeout`)."""
EXAMPLES = "30s, 10m, 2h, 1h30m or 1d"
_NUMBER = r"[0-9]+(?:\.[0-9]+)?"


@cache
def _form(units: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("".join(rf"(?:(?P<{unit}>{_NUMBER}){unit})?" for unit in units))


def total(text: str, units: tuple[str, ...] = tuple(UNITS)) -> float | None:
    """Seconds in `text` (upper or lower case, spaces around it ignored), or None when it is
    not a duration in `units` (a unit missing, repeated, out of order or not among `units`).
    Zero is a duration (`0s`): whether it is allowed is the caller's to say."""
    match = _form(units).fullmatch(text.strip().lower())
    if match is None or not any(match.groupdict().values()):
        return None
    return sum(float(amount) * UNITS[unit] for unit, amount in match.groupdict().items() if amount)


def parse(text: str) -> float:
    """A soak's duration: seconds above zero in `text`; `ValueError` with what would be valid."""
    seconds = total(text, SOAK_UNITS)
    if seconds is None:
        raise ValueError(f"expected a duration like {EXAMPLES}, got {text!r}")
    if seconds <= 0:
        raise ValueError(f"expected a duration above zero, like {EXAMPLES}, got {text!r}")
    return seconds


def argument(text: str) -> float:
    """`parse` as an argparse `type=`: argparse names the option in its message."""
    try:
        return parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def shown(seconds: float) -> str:
    """`45s`, `4m05s`, `1h59m`, `2d3h`: the two largest units, rounded to the second."""
    whole = max(0, round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _pair(days, "d", hours, "h", pad=False)
    if hours:
        return _pair(hours, "h", minutes, "m")
    if minutes:
        return _pair(minutes, "m", secs, "s")
    return f"{secs}s"


def _pair(big: int, big_unit: str, small: int, small_unit: str, *, pad: bool = True) -> str:
    if not small:
        return f"{big}{big_unit}"
    small_text = f"{small:02d}" if pad else str(small)
    return f"{big}{big_unit}{small_text}{small_unit}"
