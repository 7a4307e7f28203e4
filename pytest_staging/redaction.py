"""Keep secrets out of everything pytest-staging prints or writes.

A `Secret` masks itself in `repr`/`str`, so a settings object or a fixture
value can be shown by pytest without leaking. The `Redactor` masks every
known secret value inside free text (body excerpts, readiness messages)
before it reaches a terminal or a report.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    import httpx

MASK = "***"
_MIN_SECRET_LENGTH = 3


class Secret:
    """A string that never shows its value unless `reveal()` is called."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


class Redactor:
    """Masks every registered secret value in a text; safe to share between threads.

    The values are kept longest first in one tuple that is swapped, never changed,
    so `redact` (called for every string of every report) needs no lock.
    """

    def __init__(self) -> None:
        self._values: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def register(self, secrets: Iterable[Secret | str]) -> None:
        values = {s.reveal() if isinstance(s, Secret) else s for s in secrets}
        with self._lock:
            known = {*self._values, *(v for v in values if len(v) >= _MIN_SECRET_LENGTH)}
            self._values = tuple(sorted(known, key=len, reverse=True))

    def clear(self) -> None:
        with self._lock:
            self._values = ()

    def redact(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text


redactor = Redactor()
"""The process-wide redactor the plugin fills from the resolved settings."""


def excerpt(text: str, limit: int = 500) -> str:
    """A redacted, cut excerpt of a response body, safe for messages and reports."""
    text = redactor.redact(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


_DECODED_WHOLE_BYTES = 64 * 1024


def response_excerpt(response: httpx.Response, limit: int = 500) -> str:
    """`excerpt` of a response body that decodes at most 4 * `limit` bytes of a large body,
    so a 50 MB answer costs no more than a small one."""
    import httpx

    try:
        content = response.content
    except httpx.ResponseNotRead:
        return "(body not read)"
    if not content:
        return "(empty body)"
    if len(content) <= _DECODED_WHOLE_BYTES:
        return excerpt(response.text, limit)
    head = content[: 4 * limit].decode(response.encoding or "utf-8", errors="replace")
    return f"{redactor.redact(head)[:limit]}… ({len(content)} bytes in all)"
