"""Read a manifest file: TOML, checked against `schemas/manifest.json`, then built."""

from __future__ import annotations

import datetime
import math
import tomllib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pytest_staging import files, schemas
from pytest_staging.manifest.builder import build
from pytest_staging.manifest.problems import key_path, schema_problems
from pytest_staging.manifest.records import Manifest, ManifestError

if TYPE_CHECKING:
    from pathlib import Path


def load(path: Path) -> Manifest:
    """Read, validate and build the manifest at `path`, or raise `ManifestError`."""
    try:
        document = _parse(files.read_bytes(path, files.MAX_MANIFEST_BYTES))
        problems = validate(document) or _not_json(document) or _needs_auth(document)
        if problems:
            raise ManifestError(path, problems)
        return build(path, document)
    except files.READ_ERRORS as exc:
        raise ManifestError(path, [f"cannot read it: {files.unreadable(exc)}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(path, [f"not valid TOML: {exc}"]) from None
    except UnicodeDecodeError as exc:
        problem = f"not valid TOML: it is not UTF-8 text ({exc.reason})"
        raise ManifestError(path, [problem]) from None
    except RecursionError:
        problem = "values are nested too deeply to read: a manifest needs a few levels at most"
        raise ManifestError(path, [problem]) from None


_BOM = "\ufeff"


def _parse(data: bytes) -> dict[str, Any]:
    """TOML from UTF-8 bytes; a byte-order mark, which TOML forbids and some editors write,
    is named as such rather than reported as an invalid statement at line 1."""
    text = data.decode("utf-8")
    if text.startswith(_BOM):
        raise tomllib.TOMLDecodeError(
            "the file starts with a byte-order mark (BOM); save it as UTF-8 without BOM"
        )
    return tomllib.loads(text)


def validate(document: Mapping[str, Any]) -> list[str]:
    """Every way `document` breaks the manifest schema, as `key.path: problem` lines."""
    validator = schemas.validator(schemas.load("manifest"), toml_integers=True)
    return schema_problems(validator.iter_errors(document))


def _not_json(value: Any, path: tuple[str | int, ...] = ()) -> list[str]:
    """TOML has dates, times, nan and inf; request bodies and thresholds cannot use them."""
    if isinstance(value, Mapping):
        return [p for key, item in value.items() for p in _not_json(item, (*path, key))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in _not_json(item, (*path, index))]
    if isinstance(value, datetime.date | datetime.time):
        return [f"{key_path(path)}: a TOML date or time is not JSON; write it as a string"]
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{key_path(path)}: {value} is not a usable number; write a finite number"]
    return []


def _needs_auth(document: Mapping[str, Any]) -> list[str]:
    """`auth = true` on an endpoint or resource is only meaningful with an [auth] table."""
    if "auth" in document:
        return []
    return [
        f"{table}[{index}].auth: true needs an [auth] table that says how to log in"
        for table in ("endpoints", "resources")
        for index, entry in enumerate(document.get(table, []))
        if entry.get("auth") is True
    ]
