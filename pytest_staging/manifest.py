"""The target manifest (`staging.toml`): what one service looks like to the suites.

Read with `tomllib`, checked against `schemas/manifest.json` (unknown keys are
errors), then turned into frozen records with every default filled in, so
the suites never guess. Schema files a manifest names are read and checked
here too, relative to the manifest. Any problem is one `ManifestError` whose
lines each name the key path and what would be valid.

Secrets never live in a manifest: it names environment variables, and
`credentials()` reads them only when a test needs them.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pytest_staging import schemas
from pytest_staging.manifest_errors import key_path, schema_problems
from pytest_staging.redaction import Secret

if TYPE_CHECKING:
    from pathlib import Path

    from jsonschema.protocols import Validator

DEFAULT_FILE_NAME = "staging.toml"
NOT_FOUND_PATH = "/pytest-staging/no-such-path"


class ManifestError(Exception):
    """The manifest cannot be used; `str()` names the file and every problem found."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(f"{path}: {problem}" for problem in problems))


class MissingCredential(LookupError):
    """An environment variable the manifest names for a credential is not set."""


def _shown(name: str) -> str:
    """A variable name as messages show it; one that does not look like a NAME may be a
    secret pasted into the manifest by mistake, so it is not repeated."""
    if name.isupper():
        return name
    return "named there (not shown: variable names are UPPER_CASE, is it a secret?)"


@dataclass(frozen=True)
class Environment:
    name: str
    url: str
    sensitive: bool = False


@dataclass(frozen=True)
class Health:
    """How to read the health endpoint; `None` pointers are not checked."""

    path: str = "/health"
    statuses: tuple[int, ...] = (200,)
    status_field: str | None = "/status"
    healthy_value: str = "healthy"
    components: str | None = "/components"
    version_field: str | None = "/version"


@dataclass(frozen=True)
class Pagination:
    items: str
    total: str
    page: str | None = None
    per_page: str | None = None


@dataclass(frozen=True)
class Endpoint:
    path: str
    method: str = "GET"
    name: str = ""
    statuses: tuple[int, ...] = (200,)
    envelope: bool = False
    schema: Mapping[str, Any] | None = None
    budget_ms: float | None = None
    category: str = "smoke"
    critical: bool = False
    auth: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    pagination: Pagination | None = None

    @property
    def label(self) -> str:
        """The readable test id: the declared name, or `GET /api/items`."""
        return self.name or f"{self.method} {self.path}"


@dataclass(frozen=True)
class Auth:
    kind: str
    login_path: str | None = None
    logout_path: str | None = None
    protected_path: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    token_field: str = "/token"

    def credentials(self, environ: Mapping[str, str] = os.environ) -> tuple[str, Secret]:
        """The username and password from the named variables, or `MissingCredential`."""
        values = []
        for key in ("username_env", "password_env"):
            name = getattr(self, key)
            if name is None:
                raise MissingCredential(f"auth.{key} is not set in the manifest")
            if not environ.get(name):
                raise MissingCredential(
                    f"the environment variable {_shown(name)} (auth.{key}) is not set: "
                    "export it with the test account's credentials"
                )
            values.append(environ[name])
        return values[0], Secret(values[1])


@dataclass(frozen=True)
class Probe:
    """One request with the statuses it must answer."""

    path: str
    method: str = "GET"
    json: Any = None
    statuses: tuple[int, ...] = (400, 422)


@dataclass(frozen=True)
class Resource:
    """A collection the round trip may create in, read from and delete from."""

    path: str
    create: Any
    item_path: str
    name: str = ""
    id_field: str = "/id"
    auth: bool = False
    create_statuses: tuple[int, ...] = (200, 201)
    delete_statuses: tuple[int, ...] = (200, 202, 204)

    @property
    def label(self) -> str:
        return self.name or self.path


@dataclass(frozen=True)
class RateLimit:
    path: str
    method: str = "GET"
    json: Any = None
    requests: int = 100


@dataclass(frozen=True)
class Security:
    paths: tuple[str, ...] = ()
    http_port: int = 80
    tls_min_days: int = 14
    rate_limit: RateLimit | None = None


@dataclass(frozen=True)
class Cache:
    path: str
    hit_rate_field: str
    min_hit_rate: float
    hit_rate_unit: str = "ratio"


@dataclass(frozen=True)
class Monitoring:
    metrics_path: str | None = None
    series: tuple[str, ...] = ()
    cache: Cache | None = None


@dataclass(frozen=True)
class Manifest:
    """One service as the suites see it; `Manifest()` is "nothing declared"."""

    path: Path | None = None
    service: str = ""
    environments: Mapping[str, Environment] = field(default_factory=dict)
    health: Health = field(default_factory=Health)
    envelope_schema: Mapping[str, Any] | None = None
    gates: Mapping[str, float] = field(default_factory=dict)
    min_tests: Mapping[str, int] = field(default_factory=dict)
    endpoints: tuple[Endpoint, ...] = ()
    auth: Auth | None = None
    not_found_path: str = NOT_FOUND_PATH
    bad_request: Probe | None = None
    resources: tuple[Resource, ...] = ()
    security: Security = field(default_factory=Security)
    monitoring: Monitoring = field(default_factory=Monitoring)
    load: Mapping[str, Any] = field(default_factory=dict)

    @property
    def uses_envelope(self) -> bool:
        return self.envelope_schema is not None or any(e.envelope for e in self.endpoints)


def load(path: Path) -> Manifest:
    """Read, validate and build the manifest at `path`, or raise `ManifestError`."""
    try:
        with path.open("rb") as stream:
            document = tomllib.load(stream)
    except OSError as exc:
        raise ManifestError(path, [f"cannot read it: {exc.strerror or exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(path, [f"not valid TOML: {exc}"]) from None
    except UnicodeDecodeError as exc:
        problem = f"not valid TOML: it is not UTF-8 text ({exc.reason})"
        raise ManifestError(path, [problem]) from None
    problems = validate(document) or _not_json(document) or _needs_auth(document)
    if problems:
        raise ManifestError(path, problems)
    return _Builder(path).manifest(document)


def validate(document: Mapping[str, Any]) -> list[str]:
    """Every way `document` breaks the manifest schema, as `key.path: problem` lines."""
    return schema_problems(_validator().iter_errors(document))


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


@cache
def _validator() -> Validator:
    from jsonschema.validators import extend, validator_for

    schema = schemas.load("manifest")
    base = validator_for(schema)
    # TOML tells 80 from 80.0: an "integer" key takes integers only, as a TOML reader expects.
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _, value: isinstance(value, int) and not isinstance(value, bool)
    )
    strict = extend(base, type_checker=checker)  # type: ignore[no-untyped-call]  # untyped stub
    validator: Validator = strict(schema)
    return validator


def _statuses(value: int | list[int] | None, default: tuple[int, ...]) -> tuple[int, ...]:
    if value is None:
        return default
    return (value,) if isinstance(value, int) else tuple(value)


class _Builder:
    """Fills defaults and reads the schema files a validated document names."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def manifest(self, doc: Mapping[str, Any]) -> Manifest:
        auth = Auth(**doc["auth"]) if "auth" in doc else None
        errors = doc.get("errors", {})
        gates = dict(doc.get("gates", {}))
        min_tests = gates.pop("min_tests", {})
        return Manifest(
            path=self._path,
            service=doc.get("service", {}).get("name", ""),
            environments=MappingProxyType(
                {
                    name: Environment(name, **env)
                    for name, env in doc.get("environments", {}).items()
                }
            ),
            health=self._health(doc.get("health")),
            envelope_schema=self._schema(doc.get("envelope", {}).get("schema"), "envelope.schema"),
            gates=MappingProxyType(gates),
            min_tests=MappingProxyType(min_tests),
            endpoints=tuple(self._endpoint(i, e) for i, e in enumerate(doc.get("endpoints", []))),
            auth=auth,
            not_found_path=errors.get("not_found_path", NOT_FOUND_PATH),
            bad_request=self._probe(errors.get("bad_request")),
            resources=tuple(self._resource(r, auth) for r in doc.get("resources", [])),
            security=self._security(doc.get("security", {}), doc.get("health")),
            monitoring=self._monitoring(doc.get("monitoring", {})),
            load=MappingProxyType(doc.get("load", {})),
        )

    def _health(self, table: Mapping[str, Any] | None) -> Health:
        """No `[health]` table: the common conventions. A table: only what it declares."""
        if table is None:
            return Health()
        return Health(
            path=table.get("path", "/health"),
            statuses=_statuses(table.get("status"), (200,)),
            status_field=table.get("status_field"),
            healthy_value=table.get("healthy_value", "healthy"),
            components=table.get("components"),
            version_field=table.get("version_field"),
        )

    def _endpoint(self, index: int, table: Mapping[str, Any]) -> Endpoint:
        pagination = table.get("pagination")
        return Endpoint(
            path=table["path"],
            method=table.get("method", "GET"),
            name=table.get("name", ""),
            statuses=_statuses(table.get("status"), (200,)),
            envelope=table.get("envelope", False),
            schema=self._schema(table.get("schema"), f"endpoints[{index}].schema"),
            budget_ms=table.get("budget_ms"),
            category=table.get("category", "smoke"),
            critical=table.get("critical", False),
            auth=table.get("auth", False),
            headers=MappingProxyType(table.get("headers", {})),
            json=table.get("json"),
            pagination=Pagination(**pagination) if pagination else None,
        )

    def _probe(self, table: Mapping[str, Any] | None) -> Probe | None:
        if table is None:
            return None
        statuses = _statuses(table.get("status"), Probe.statuses)
        return Probe(table["path"], table.get("method", "POST"), table.get("json"), statuses)

    def _resource(self, table: Mapping[str, Any], auth: Auth | None) -> Resource:
        path = table["path"]
        return Resource(
            path=path,
            create=table["create"],
            item_path=table.get("item_path", path.rstrip("/") + "/{id}"),
            name=table.get("name", ""),
            id_field=table.get("id_field", "/id"),
            auth=table.get("auth", auth is not None),
            create_statuses=_statuses(table.get("create_status"), Resource.create_statuses),
            delete_statuses=_statuses(table.get("delete_status"), Resource.delete_statuses),
        )

    def _security(self, table: Mapping[str, Any], health: Mapping[str, Any] | None) -> Security:
        limit = table.get("rate_limit")
        health_path = (health or {}).get("path", "/health")
        return Security(
            paths=tuple(table.get("paths", [health_path])),
            http_port=table.get("http_port", 80),
            tls_min_days=table.get("tls_min_days", 14),
            rate_limit=RateLimit(**limit) if limit else None,
        )

    def _monitoring(self, table: Mapping[str, Any]) -> Monitoring:
        cache = table.get("cache")
        return Monitoring(
            metrics_path=table.get("metrics_path"),
            series=tuple(table.get("series", [])),
            cache=Cache(**cache) if cache else None,
        )

    def _schema(self, name: str | None, key: str) -> Mapping[str, Any] | None:
        """The JSON Schema in the file `name` (relative to the manifest), checked."""
        if name is None:
            return None
        from jsonschema.exceptions import SchemaError
        from jsonschema.validators import validator_for

        file = self._path.parent / name
        try:
            schema = json.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise self._error(key, f"cannot read {file}: {exc.strerror or exc}") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._error(key, f"{file} is not valid JSON: {exc}") from None
        if not isinstance(schema, dict):
            raise self._error(key, f"{file} must hold a JSON Schema object")
        try:
            validator_for(schema).check_schema(schema)
        except SchemaError as exc:
            where = key_path(exc.absolute_path)
            problem = f"{file} is not a valid JSON Schema at {where}: {exc.message}"
            raise self._error(key, problem) from None
        return schema

    def _error(self, key: str, problem: str) -> ManifestError:
        return ManifestError(self._path, [f"{key}: {problem}"])
