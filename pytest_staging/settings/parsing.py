"""Parsers for option values, shared by the command line, environment and ini.

Each parser raises `argparse.ArgumentTypeError` with a message that says what
would be valid, and never echoes a value that may be secret.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pytest_staging import durations
from pytest_staging.demo.modes import DEMO_MODES
from pytest_staging.settings.defaults import MAX_RETRIES

if TYPE_CHECKING:
    from collections.abc import Sequence

MAX_SECONDS = 86_400
"""A day: longer waits are mistakes, and the OS rejects far larger socket timeouts."""
MAX_BODY_MIB = 4096
"""--staging-max-body's ceiling: 4 GiB of answer is never a test's business."""
MAX_PORT = 65_535
_PORT_SHOWN = 12
"""Digits of an out-of-range port the message repeats."""
ALL_CATEGORIES = "all"
CATEGORIES_INI = "staging_categories"
"""The ini key that declares categories besides the built-in ones."""
DEFAULT_TOLERANCE = 20.0
"""--staging-baseline-tolerance: how much slower than the baseline p95 passes, in percent."""
MAX_TOLERANCE = 1000
"""A tenfold slowdown is the widest sane allowance."""
_DIGITS = re.compile(r"[0-9]+")
_CATEGORY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def url(value: str) -> str:
    """An absolute http(s) URL with a host httpx accepts; a trailing slash is dropped.

    No query and no fragment: every request path is appended to the URL, so `?api_key=K`
    would end up inside each query (`?api_key=K/health`) and the key in every report. The
    message never repeats the URL: its query or user part may hold a secret."""
    import httpx  # ~100 ms: every run imports this module, only a gated one parses a URL

    text = value.strip()
    if "?" in text or "#" in text:
        raise argparse.ArgumentTypeError(
            "the URL has a query string or fragment (not shown), but every request path is "
            "appended to it: give only scheme, host, port and path, and pass a key as a header, "
            "e.g. --staging-header 'X-Api-Key: ...'"
        )
    try:
        parts = urlsplit(text)
        port_problem = _port_problem(parts.netloc)
        if port_problem is not None:
            raise argparse.ArgumentTypeError(port_problem)
        (parts.hostname or "").encode("idna")
        httpx.URL(text)
        valid = parts.scheme in {"http", "https"} and bool(parts.hostname)
    except (ValueError, UnicodeError, httpx.InvalidURL):
        valid = False
    if not valid:
        raise argparse.ArgumentTypeError(
            "expected an absolute http:// or https:// URL with a host, "
            "e.g. https://staging.example.com"
        )
    return text.rstrip("/")


def _port_problem(netloc: str) -> str | None:
    """What is wrong with the port in `host:port` (`[v6]:port`), if anything. A number is
    shown; anything else is not (`user:password` without its `@host` would look like one)."""
    host_port = netloc.rpartition("@")[2]
    after_host = host_port.rpartition("]")[2] if host_port.startswith("[") else host_port
    _, colon, port = after_host.rpartition(":")
    if not colon or not port:
        return None
    if not _DIGITS.fullmatch(port):
        return "the port (not shown) is not a number: expected a port from 1 to 65535"
    if len(port) > len(str(MAX_PORT)) or not 1 <= int(port) <= MAX_PORT:
        shown = port if len(port) <= _PORT_SHOWN else f"{port[:_PORT_SHOWN]}..."
        return f"the port {shown} is out of range: expected a port from 1 to {MAX_PORT}"
    return None


def _seconds(value: str, *, allow_zero: bool) -> float:
    """A bare number of seconds (`30`, `0.5`), or a duration in `durations`' grammar (`30s`,
    `1m30s`)."""
    try:
        seconds = float(value)
    except ValueError:
        duration = durations.total(value)
        seconds = math.nan if duration is None else duration
    too_small = seconds < 0 or (seconds == 0 and not allow_zero)
    if not math.isfinite(seconds) or too_small or seconds > MAX_SECONDS:
        lower = "from 0" if allow_zero else "above 0"
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds {lower} up to {MAX_SECONDS}, e.g. 30"
        )
    return seconds


def timeout(value: str) -> float:
    return _seconds(value, allow_zero=False)


def wait(value: str) -> float:
    return _seconds(value, allow_zero=True)


def mebibytes(value: str) -> int:
    """A body size in MiB, above 0 up to MAX_BODY_MIB, as bytes."""
    try:
        mib = float(value)
    except ValueError:
        mib = math.nan
    if not math.isfinite(mib) or not 0 < mib <= MAX_BODY_MIB:
        raise argparse.ArgumentTypeError(
            f"expected a size in MiB above 0 up to {MAX_BODY_MIB}, e.g. 64"
        )
    return int(mib * 1024 * 1024)


def retries(value: str) -> int:
    """How many times a request may be sent again: 0 (off) to MAX_RETRIES."""
    text = value.strip()
    if not _DIGITS.fullmatch(text) or int(text) > MAX_RETRIES:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of retries from 0 to {MAX_RETRIES}, e.g. 2 "
            "(0 turns retries off)"
        )
    return int(text)


def server_error_statuses(value: str) -> tuple[int, ...]:
    """Comma-separated status codes from 500 to 599, sorted, each once."""
    items = [item.strip() for item in value.split(",") if item.strip()]
    valid = all(_DIGITS.fullmatch(item) and 500 <= int(item) <= 599 for item in items)
    if not items or not valid:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a comma-separated list of HTTP status codes from 500 to 599, "
            "e.g. 502,503,504"
        )
    return tuple(sorted({int(item) for item in items}))


def categories(value: str) -> tuple[str, ...]:
    """Comma-separated category names (marker names), or `all`; which exist is checked
    when settings are resolved."""
    names = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
    alone = ALL_CATEGORIES not in names or names == (ALL_CATEGORIES,)
    if not names or not alone or not all(_CATEGORY.fullmatch(name) for name in names):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a comma-separated list of categories, or {ALL_CATEGORIES}, "
            "e.g. integration,security"
        )
    return names


def unknown_category(name: str, known: Sequence[str], *, alternative: str = "") -> str | None:
    """Why `name` is not one of the `known` categories, or None when it is: the one message
    for a gate, a minimum count, an endpoint or a flaky category that names none. An
    `alternative` (`all`) is offered after the list."""
    if name in known:
        return None
    listed = ", ".join(known) + (f", or {alternative}" if alternative else "")
    return (
        f"unknown category {name!r}; known categories: {listed} "
        f"(declare more with the ini key {CATEGORIES_INI})"
    )


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


def percentage(value: str) -> float:
    """A percentage from 0 to 100, e.g. an error rate."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not 0 <= number <= 100:
        raise argparse.ArgumentTypeError(f"{value!r} is not a percentage from 0 to 100, e.g. 0.1")
    return number


def tolerance(value: str) -> float:
    """A tolerance in percent, 0 up to MAX_TOLERANCE; a trailing `%` is allowed."""
    try:
        percent = float(value.strip().rstrip("%"))
    except ValueError:
        percent = -1.0
    if not 0 <= percent <= MAX_TOLERANCE:
        raise argparse.ArgumentTypeError(
            f"expected a percentage from 0 to {MAX_TOLERANCE}, e.g. 20, got {value!r}"
        )
    return percent


def _header_safe(value: str) -> bool:
    """Printable ASCII only: no CR/LF to smuggle in headers, nothing httpx cannot encode."""
    return all(" " <= character <= "~" for character in value)


def header(value: str) -> tuple[str, str]:
    """`Name: value`; the message never repeats the value (it may be a secret)."""
    name, sep, content = value.partition(":")
    if not sep or not name.strip() or " " in name.strip() or not _header_safe(value):
        raise argparse.ArgumentTypeError(
            "expected 'Name: value' in printable ASCII, e.g. 'X-Api-Key: ...' "
            "(the value is not shown)"
        )
    return name.strip(), content.strip()


def token(value: str) -> str:
    """A bearer token: printable ASCII without spaces; never echoed."""
    text = value.strip()
    if not text or not _header_safe(text) or " " in text:
        raise argparse.ArgumentTypeError(
            "expected a token of printable ASCII without spaces (the value is not shown)"
        )
    return text


def demo_mode(value: str) -> str:
    if value not in DEMO_MODES:
        raise argparse.ArgumentTypeError(
            f"unknown demo mode {value!r}; expected one of: {', '.join(DEMO_MODES)}"
        )
    return value


def _path(value: str) -> Path:
    try:
        return Path(value).expanduser()
    except RuntimeError:  # ~user that does not exist
        raise argparse.ArgumentTypeError(f"{value!r}: cannot expand '~' in this path") from None


def report_file(value: str) -> Path:
    """An earlier JSON report's path, as given: neither opened nor checked here (every xdist
    worker parses the options, only the controller reads the report, and expands `~`)."""
    return Path(value)


def ca_bundle(value: str) -> Path:
    """A PEM file of CA certificates that the ssl module can load."""
    import ssl  # only a run given a CA bundle needs it

    path = _path(value)
    try:
        ssl.create_default_context(cafile=str(path))
    except OSError as exc:  # ssl.SSLError is an OSError too
        ssl_problem = isinstance(exc, ssl.SSLError) or not exc.strerror
        reason = "not a PEM CA bundle" if ssl_problem else exc.strerror
        raise argparse.ArgumentTypeError(f"{value!r} cannot be used: {reason}") from None
    return path


def output_path(value: str) -> Path:
    """A file path whose folder exists and is writable, or can be created; a name the
    file system refuses (longer than 255 bytes: ENAMETOOLONG) is refused here, at start."""
    path = _path(value)
    try:
        if path.is_dir():
            raise argparse.ArgumentTypeError(f"{value!r} is a directory; expected a file path")
        folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), Path.cwd())
    except OSError as exc:
        raise argparse.ArgumentTypeError(
            f"{value!r} cannot be written: {exc.strerror or exc}"
        ) from None
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"{value!r} cannot be written: {folder} is not writable")
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
