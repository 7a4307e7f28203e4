"""Soak durations as people write them (`30s`, `10m`, `2h`, `1h30m`, `1d`) and as they are shown.

Whole numbers of days, hours, minutes and seconds, largest unit first, each unit at most
once. A bare number is refused: `--every 2` could mean seconds or hours, and a soak that
runs every 2 seconds instead of every 2 hours is a costly misunderstanding.
"""

from __future__ import annotations

import argparse
import re

_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_FORM = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
EXAMPLES = "30s, 10m, 2h, 1h30m or 1d"


def parse(text: str) -> float:
    """Seconds in `text`; `ValueError` with what would be valid."""
    match = _FORM.match(text.strip().lower())
    if not text.strip() or match is None:
        raise ValueError(f"expected a duration like {EXAMPLES}, got {text!r}")
    seconds = sum(
        int(amount) * size
        for amount, (_, size) in zip(match.groups(), _UNITS, strict=True)
        if amount
    )
    if seconds <= 0:
        raise ValueError(f"expected a duration above zero, like {EXAMPLES}, got {text!r}")
    return float(seconds)


def argument(text: str) -> float:
    """`parse` as an argparse `type=`: argparse names the option in its message."""
    try:
        return parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def shown(seconds: float) -> str:
    """`45s`, `4m05s`, `1h59m`, `2d3h`: the two largest units, rounded to the second."""
    total = max(0, round(seconds))
    days, rest = divmod(total, 86400)
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
