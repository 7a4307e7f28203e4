"""Keep secrets out of everything pytest-staging prints or writes.

A `Secret` masks itself in `repr`/`str`, so a settings object or a fixture
value can be shown by pytest without leaking. The `Redactor` masks every
known secret value inside free text (body excerpts, readiness messages)
before it reaches a terminal or a report; `sinks.py` applies the same
process-wide `redactor` to what pytest and its plugins render themselves.

Text from the target (bodies, header values, paths) is also made `printable`
before it is shown: a control character or a bidi override in it could clear
the terminal, move the cursor or reorder what a reader sees.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from typing import TYPE_CHECKING
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

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
    so `redact` (called for every string of every report) needs no lock. Values
    shorter than 3 characters are never registered: masking every "a" or "42" of
    a report would destroy it and hide nothing worth hiding.

    A value cut short by an ellipsis is masked too: pytest shortens long values
    (`'tok-4f2a...9c1e'`) before any sink sees them, so the head of a secret before
    `...`/`…` and its tail after one are masked from 4 characters on.
    """

    def __init__(self) -> None:
        self._values: tuple[str, ...] = ()
        self._registered: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def register(self, secrets: Iterable[Secret | str]) -> None:
        """Mask each value from now on, and every form `encoded_forms` derives from it."""
        values = {s.reveal() if isinstance(s, Secret) else s for s in secrets}
        values = {v for v in values if len(v) >= _MIN_SECRET_LENGTH}
        if values <= self._registered:  # the wire hands the same header to every request
            return
        forms = {form for value in values - self._registered for form in encoded_forms(value)}
        with self._lock:
            known = set(self._values) | {f for f in forms if len(f) >= _MIN_SECRET_LENGTH}
            self._values = tuple(sorted(known, key=len, reverse=True))
            self._registered |= values

    def clear(self) -> None:
        with self._lock:
            self._values = ()
            self._registered = frozenset()

    @property
    def active(self) -> bool:
        """Whether any secret is registered (with none, every sink is left alone)."""
        return bool(self._values)

    def finds(self, text: str) -> bool:
        """Whether `text` holds a registered secret, or a piece of one cut at an ellipsis."""
        return bool(self._spans(text))

    def redact(self, text: str) -> str:
        """`text` with every occurrence of every secret replaced by `MASK`.

        Occurrences that overlap (two secrets sharing characters) are masked as
        one span, so no part of either shows."""
        spans = self._spans(text)
        return _masked(text, spans) if spans else text

    def redact_bytes(self, data: bytes) -> bytes:
        """`redact` for raw bytes (a file of unknown encoding): secrets are matched as UTF-8."""
        if not any(value.encode() in data for value in self._values) and not any(
            mark.encode() in data for mark in _ELLIPSES
        ):
            return data
        text = data.decode("utf-8", errors="surrogateescape")
        spans = self._spans(text)
        return _masked(text, spans).encode("utf-8", errors="surrogateescape") if spans else data

    def _spans(self, text: str) -> list[tuple[int, int]]:
        values = self._values
        spans = [
            (start, start + len(value))
            for value in values
            if value in text
            for start in _occurrences(text, value)
        ]
        if values and any(mark in text for mark in _ELLIPSES):
            spans += _fragments(text, values)
        return spans


def encoded_forms(value: str) -> set[str]:
    """`value` and the forms programs commonly turn it into, each masked like the value.

    A target that echoes a secret back usually encodes it: as a JSON string (PHP's `\\/`,
    Go's `\\u003c`, `\\uXXXX` for non-ASCII), as HTML or XML text (`&amp;`, `&#39;`),
    URL-encoded, base64 (HTTP Basic sends
    `user:password` so, registered as the pair). pytest shows strings as their `repr`
    (assertion introspection, `-l`), also of a JSON body. Only the whole encoded value is
    known: base64 of a longer text holding the value is not."""
    json_forms = _json_forms(value)
    reprs = {form for text in (value, *json_forms) for form in _repr_forms(text)}
    return {
        value,
        *json_forms,
        *reprs,
        *_html_forms(value),
        *_percent_forms(value),
        *_base64_forms(value),
    }


_JSON_ESCAPED_BY = ("", "<>&", "<>&'+`\"")
"""What a JSON writer also writes as `\\uXXXX`: nothing more, Go's encoding/json, .NET's
System.Text.Json (by default)."""
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-f]{4})")


def _json_forms(value: str) -> set[str]:
    """The inside of a JSON string holding `value`: `\\uXXXX` for non-ASCII or not, `/` as
    `\\/` (PHP) or not, the HTML-sensitive characters escaped as Go or .NET do or not, hex
    in either case."""
    forms = set()
    for ascii_only in (True, False):
        for escaped in _JSON_ESCAPED_BY:
            text = "".join(
                f"\\u{ord(char):04x}"
                if char in escaped
                else json.dumps(char, ensure_ascii=ascii_only)[1:-1]
                for char in value
            )
            for form in (text, text.replace("/", "\\/")):
                forms |= {form, _UNICODE_ESCAPE.sub(lambda m: f"\\u{m.group(1).upper()}", form)}
    return forms


_HTML_QUOTES: tuple[dict[str, str], ...] = (
    {'"': "&quot;", "'": "&#x27;"},  # Python's html.escape
    {'"': "&#34;", "'": "&#39;"},  # MarkupSafe (Jinja2), Go's html/template
    {'"': "&quot;", "'": "&apos;"},  # XML
    {},  # html.escape(quote=False), XML text
)


def _html_forms(value: str) -> set[str]:
    """`value` as HTML or XML text: `&<>` as entities, the quotes in each usual style."""
    if not any(char in value for char in "&<>\"'"):
        return set()
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    forms = set()
    for quotes in _HTML_QUOTES:
        form = text
        for char, entity in quotes.items():
            form = form.replace(char, entity)
        forms.add(form)
    return forms


def _repr_forms(value: str) -> set[str]:
    """The inside of `repr(value)` in both quote styles, and of `ascii(value)`."""
    single = repr(value + '"')[1:-2]  # a double quote inside makes repr use single quotes
    return {single, single.replace("\\'", "'"), ascii(value + '"')[1:-2]}


def _percent_forms(value: str) -> set[str]:
    forms = {
        quote(value, safe=""),
        quote(value, safe="/"),
        quote(value, safe="!'()*~"),  # JavaScript's encodeURIComponent
        quote_plus(value),
    }
    return forms | {re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), form) for form in forms}


def _base64_forms(value: str) -> set[str]:
    data = value.encode()
    padded = {base64.b64encode(data).decode(), base64.urlsafe_b64encode(data).decode()}
    return padded | {form.rstrip("=") for form in padded}


_ELLIPSES = ("...", "\u2026")
_MIN_FRAGMENT = 4
"""The shortest head or tail of a secret, cut at an ellipsis, that is masked."""


def _occurrences(text: str, value: str) -> Iterator[int]:
    start = text.find(value)
    while start != -1:
        yield start
        start = text.find(value, start + 1)


def _fragments(text: str, values: tuple[str, ...]) -> list[tuple[int, int]]:
    """Spans of the heads of secrets just before an ellipsis and of tails just after one."""
    spans = []
    for mark in _ELLIPSES:
        for at in _occurrences(text, mark):
            after = at + len(mark)
            before, behind = (
                text[max(0, at - _MIN_FRAGMENT) : at],
                text[after : after + _MIN_FRAGMENT],
            )
            for value in values:
                if len(before) == _MIN_FRAGMENT and before in value:  # cheap test first
                    for size in range(min(len(value) - 1, at), _MIN_FRAGMENT - 1, -1):
                        if text.startswith(value[:size], at - size):
                            spans.append((at - size, at))
                            break
                if len(behind) == _MIN_FRAGMENT and behind in value:
                    for size in range(
                        min(len(value) - 1, len(text) - after), _MIN_FRAGMENT - 1, -1
                    ):
                        if text.startswith(value[-size:], after):
                            spans.append((after, after + size))
                            break
    return spans


def _masked(text: str, spans: list[tuple[int, int]]) -> str:
    """Replace each span by `MASK`; overlapping or touching spans become one mask."""
    merged: list[list[int]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    pieces: list[str] = []
    shown = 0
    for start, stop in merged:
        pieces += [text[shown:start], MASK]
        shown = stop
    pieces.append(text[shown:])
    return "".join(pieces)


redactor = Redactor()
"""The process-wide redactor the plugin fills from the resolved settings."""


_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
"""C0 and C1 controls (ESC, CR, LF, tab...), DEL, the Unicode line and paragraph separators,
the bidi marks (ALM, LRM, RLM), embeddings, overrides and isolates, and the byte-order mark
(a zero-width no-break space)."""
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _SHORT_ESCAPES.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str) -> str:
    """`text` on one line with nothing a terminal or a viewer would obey: every control
    character, line separator and bidi control is shown as its Python escape (`\\x1b`,
    `\\n`, `\\u202e`), so text from the target can neither steer the terminal nor start a
    line of its own (a fake `STAGING GATE: GO`)."""
    return _UNPRINTABLE.sub(_escape, text) if _UNPRINTABLE.search(text) else text


def shown(text: str) -> str:
    """Text from the target as every message shows it: secrets masked, then `printable`."""
    return printable(redactor.redact(text))


def escaped(value: object) -> str:
    """`value` as `shown` HTML text (secrets are masked first: an escaped secret would slip
    the mask)."""
    return html.escape(shown(str(value)))


def excerpt(text: str, limit: int = 500) -> str:
    """A redacted, `printable`, cut excerpt of a response body, safe for one-line messages
    and reports."""
    text = shown(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


_DECODED_WHOLE_BYTES = 64 * 1024


def response_excerpt(response: httpx.Response, limit: int = 500) -> str:
    """`excerpt` of a response body that decodes at most 4 * `limit` bytes of a large body,
    so a 50 MB answer costs no more than a small one."""
    import httpx  # ~100 ms at start-up: every run imports this module, few read a body

    try:
        content = response.content
    except httpx.ResponseNotRead:
        return "(body not read)"
    if not content:
        return "(empty body)"
    if len(content) <= _DECODED_WHOLE_BYTES:
        return excerpt(response.text, limit)
    head = content[: 4 * limit].decode(response.encoding or "utf-8", errors="replace")
    return f"{shown(head)[:limit]}… ({len(content)} bytes in all)"
