"""Turn JSON Schema errors about a manifest into lines a person can act on.

Each line names the key path the way it is written in TOML
(`endpoints[2].status`) and what would be valid there. Schemas in
`schemas/manifest.json` carry an `x-expected` hint for that; unknown keys
list the valid ones and suggest the nearest, so a typo is found at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from pytest_staging import schemas

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

MAX_LINES = 10
_UNECHOED = frozenset({"headers", "json", "create"})
_TOML_TYPES = {
    "object": "a table",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
}


def key_path(path: Iterable[object]) -> str:
    """`endpoints[2].status` for the path ("endpoints", 2, "status"); odd keys quoted."""
    return schemas.format_path(path, "toml")


def describe(value: Any) -> str:
    """A TOML reader's name for a value: `a table`, `an array`, `"text"`, `42`, `true`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 40 else f'"{value[:40]}…"'
    return repr(value)


def explain(error: ValidationError) -> list[str]:
    """One or more `key.path: problem` lines for one schema error."""
    path = list(error.absolute_path)  # key_path writes it
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        return _unknown_keys(path, error.instance, schema)
    if error.validator == "required" and isinstance(error.instance, Mapping):
        required: list[str] = list(cast("list[str]", error.validator_value))
        missing = [name for name in required if name not in error.instance]
        return [f"{key_path([*path, name])}: missing; it is required here" for name in missing]
    expected = schema.get("x-expected") or _expected_type(schema)
    if _may_hold_a_secret(path):
        return [f"{key_path(path)}: expected {expected} (the value is not shown)"]
    return [f"{key_path(path)}: expected {expected}, got {describe(error.instance)}"]


def _may_hold_a_secret(path: list[Any]) -> bool:
    """Variable names (a secret pasted by mistake), header values and request bodies
    are never echoed: messages end up in terminals and reports."""
    keys = {str(part) for part in path}
    return bool(keys & _UNECHOED) or any(key.endswith("_env") for key in keys)


def _expected_type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, str):
        return _TOML_TYPES.get(kind, kind)
    return "a valid value"


def _unknown_keys(
    path: list[Any], instance: Mapping[str, Any], schema: Mapping[str, Any]
) -> list[str]:
    known = sorted(schema.get("properties", {}))
    lines = []
    for name in sorted(set(instance) - set(known)):
        line = f"{key_path([*path, name])}: unknown key"
        close = difflib.get_close_matches(name, known, n=1)
        if close:
            line += f" (did you mean {close[0]!r}?)"
        line += f"; valid keys here: {', '.join(known)}"
        lines.append(line)
    return lines


def schema_problems(errors: Iterable[ValidationError]) -> list[str]:
    """Every distinct problem, in key-path order, at most `MAX_LINES` of them."""
    lines: list[str] = []
    for error in sorted(errors, key=_path_order):
        lines.extend(line for line in explain(error) if line not in lines)
    if len(lines) > MAX_LINES:
        hidden = len(lines) - MAX_LINES
        lines = [*lines[:MAX_LINES], f"… and {hidden} more"]
    return lines


def _path_order(error: ValidationError) -> list[tuple[int, str]]:
    """Sort by key path with array indexes in numeric order (`[2]` before `[10]`)."""
    path = error.absolute_path
    return [(part, "") if isinstance(part, int) else (-1, str(part)) for part in path]
