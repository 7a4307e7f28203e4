"""JSON Schemas: the ones shipped with pytest-staging, and the one way any schema is checked.

- `load`: a shipped schema document (`envelope`, `health`, `manifest`, `report-v1`);
- `schema_error`: why a schema (a user's schema file) is not a valid JSON Schema;
- `validator`: the compiled validator for a schema, built once per schema object and
  cached; `$ref`s resolve to local files only (`local_registry`);
- `best_error`: the one error that best explains why a document does not match;
- `error_path`: where in the document an error is, in the form its message uses.

jsonschema and referencing are imported on first use (they cost ~60 ms, and a run without
a target checks no schema).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit
from urllib.request import url2pathname

from pytest_staging import files, json_pointer

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from jsonschema.exceptions import SchemaError, ValidationError
    from jsonschema.protocols import Validator
    from referencing import Registry, Resource

PathStyle = Literal["pointer", "toml", "slashes"]
"""`pointer`: RFC 6901 (`/items/0/id`, "" for the whole document), for a response body;
`toml`: a manifest key as written in TOML (`endpoints[2].status`, `(top level)`);
`slashes`: keys joined by `/` without escaping (`latency/GET x/p95`, "" for the whole
document), as the saved-report messages have always shown them."""

CACHE_LIMIT = 256
"""Validators kept at once: schemas built per call must not grow the cache forever."""
_validators: dict[tuple[int, bool, bool], tuple[Mapping[str, Any], Validator]] = {}
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@cache
def load(name: str) -> dict[str, Any]:
    """The schema document `<name>.json` shipped in this package."""
    text = resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validator(
    schema: Mapping[str, Any], *, formats: bool = False, toml_integers: bool = False
) -> Validator:
    """The compiled validator for `schema`, checked once and cached by the schema's identity
    (schemas are reused objects: shipped ones come from `load`, the manifest's are read once).

    `formats`: check `format` keywords too (a response's `date-time`, `email`). `toml_integers`:
    TOML tells 80 from 80.0, so an "integer" takes integers only, as a TOML reader expects.
    A `$ref` to another document is looked up in local files only (`local_registry`)."""
    key = (id(schema), formats, toml_integers)
    cached = _validators.get(key)
    if cached is not None and cached[0] is schema:
        return cached[1]
    from jsonschema.validators import extend

    cls = validator_for(schema)
    cls.check_schema(dict(schema))
    if toml_integers:
        checker = cls.TYPE_CHECKER.redefine(
            "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
        )
        cls = extend(cls, type_checker=checker)  # type: ignore[no-untyped-call]  # untyped stub
    checked_formats = cls.FORMAT_CHECKER if formats else None
    compiled: Validator = cls(schema, format_checker=checked_formats, registry=local_registry())
    if len(_validators) >= CACHE_LIMIT:
        _validators.clear()
    _validators[key] = (schema, compiled)
    return compiled


def schema_error(schema: Mapping[str, Any]) -> SchemaError | None:
    """Why `schema` is not a valid JSON Schema of the draft it names, or None."""
    from jsonschema.exceptions import SchemaError

    try:
        validator_for(schema).check_schema(dict(schema))
    except SchemaError as exc:
        return exc
    return None


def best_error(
    schema: Mapping[str, Any], document: Any, *, formats: bool = False
) -> ValidationError | None:
    """The error that best explains why `document` breaks `schema` (jsonschema's
    `best_match`), or None when it is valid."""
    from jsonschema.exceptions import best_match

    error: ValidationError | None = best_match(
        validator(schema, formats=formats).iter_errors(document)
    )
    return error


def validator_for(schema: Mapping[str, Any]) -> type[Validator]:
    """The validator class of the draft `schema` names (`$schema`), the latest by default."""
    from jsonschema.validators import validator_for as draft_of

    cls: type[Validator] = draft_of(schema)
    return cls


def error_path(error: ValidationError | SchemaError, style: PathStyle = "pointer") -> str:
    """Where `error` is in the document (or the schema), written in `style`."""
    return format_path(error.absolute_path, style)


def format_path(path: Iterable[object], style: PathStyle = "pointer") -> str:
    """A path of keys and indexes, as jsonschema errors give it, written in `style`."""
    if style == "pointer":
        return json_pointer.format_path(path)
    if style == "slashes":
        return "/".join(str(part) for part in path)
    return _toml_key(path)


def _toml_key(path: Iterable[object]) -> str:
    """`endpoints[2].status` for the path ("endpoints", 2, "status"); odd keys quoted."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = str(part) if _BARE_KEY.match(str(part)) else f'"{part}"'
            text += f".{name}" if text else name
    return text or "(top level)"


@cache
def local_registry() -> Registry[Any]:
    """Where a `$ref` to another document is looked up: local files only, read bounded.

    jsonschema's default would fetch any URL with no timeout and open any path, so one
    `$ref` could hang the run or wait on a FIFO; the manifest checks at start that every
    `$ref` of its schema files resolves here, so a test never meets one that does not.
    """
    from referencing import Registry

    return Registry(retrieve=_local_document)  # type: ignore[call-arg]  # attrs field


def _local_document(uri: str) -> Resource[Any]:
    from referencing import Resource
    from referencing.exceptions import NoSuchResource
    from referencing.jsonschema import DRAFT202012

    parts = urlsplit(uri)
    if parts.scheme != "file" or parts.netloc not in {"", "localhost"}:
        raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # attrs field
    data = files.read_bytes(Path(url2pathname(parts.path)), files.MAX_SCHEMA_BYTES)
    return Resource.from_contents(json.loads(data), default_specification=DRAFT202012)
