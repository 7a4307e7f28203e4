"""Parsers for option values, shared by the command line, environment and ini.

Each parser raises `argparse.ArgumentTypeError` with a message that says what
would be valid, and never echoes a value that may be secret.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from urllib.parse import urlsplit

from pytest_staging.demo.modes import DEMO_MODES

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def url(value: str) -> str:
    """An absolute http(s) URL with a host; a trailing slash is dropped."""
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError on a non-numeric port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not parts.hostname:
        raise argparse.ArgumentTypeError(
            "expected an absolute http:// or https:// URL with a host, "
            "e.g. https://staging.example.com"
        )
    return value.strip().rstrip("/")


def _seconds(value: str, *, allow_zero: bool) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        lower = "0 or more" if allow_zero else "more than 0"
        raise argparse.ArgumentTypeError(f"expected a number of seconds, {lower}, e.g. 30")
    return seconds


def timeout(value: str) -> float:
    return _seconds(value, allow_zero=False)


def wait(value: str) -> float:
    return _seconds(value, allow_zero=True)


def gate(value: str) -> tuple[str, float]:
    """`CATEGORY=PERCENT` with PERCENT in 0..100."""
    name, sep, percent_text = value.partition("=")
    try:
        percent = float(percent_text)
    except ValueError:
        percent = math.nan
    if not sep or not name.strip() or not 0 <= percent <= 100:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not CATEGORY=PERCENT with PERCENT from 0 to 100, e.g. smoke=100"
        )
    return name.strip(), percent


def header(value: str) -> tuple[str, str]:
    """`Name: value`; the message never repeats the value (it may be a secret)."""
    name, sep, content = value.partition(":")
    if not sep or not name.strip() or " " in name.strip():
        raise argparse.ArgumentTypeError(
            "expected 'Name: value', e.g. 'X-Api-Key: ...' (the value is not shown)"
        )
    return name.strip(), content.strip()


def demo_mode(value: str) -> str:
    if value not in DEMO_MODES:
        raise argparse.ArgumentTypeError(
            f"unknown demo mode {value!r}; expected one of: {', '.join(DEMO_MODES)}"
        )
    return value


def readable_file(value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{value!r} is not a readable file")
    return path


def output_path(value: str) -> Path:
    path = Path(value).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{value!r} is a directory; expected a file path")
    return path


def text(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("expected a non-empty value")
    return value.strip()


def flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"{value!r} is not a yes/no value; expected 1/0, true/false")
