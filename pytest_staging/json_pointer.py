"""RFC 6901 JSON pointers: read a value out of a JSON document by its path."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable


class PointerError(LookupError):
    """The pointer does not lead to a value in the document."""


def parse(pointer: str) -> list[str]:
    """Split a pointer into unescaped reference tokens; "" is the whole document."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"JSON pointer {pointer!r} must be empty or start with '/'")
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]


def resolve(document: Any, pointer: str) -> Any:
    """The value at `pointer`, or `PointerError` naming the first missing step."""
    value = document
    for depth, token in enumerate(parse(pointer)):
        try:
            value = value[int(token)] if isinstance(value, list) else value[token]
        except (KeyError, IndexError, ValueError, TypeError):
            walked = format_path(parse(pointer)[: depth + 1])
            raise PointerError(f"nothing at {walked}") from None
    return value


def format_path(path: Iterable[object]) -> str:
    """A JSON pointer for a path of keys and indexes (as jsonschema errors give it)."""
    tokens = (str(part).replace("~", "~0").replace("/", "~1") for part in path)
    return "".join(f"/{token}" for token in tokens)
