"""Build the frozen `Manifest` from a validated document: defaults filled, schema files read.

Kept apart from `manifest` (the records and the checks) so each stays one job: this module
only knows which default each key has and where a named schema file is found.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin, urlsplit

import referencing
from referencing.exceptions import PointerToNowhere, Unresolvable
from referencing.jsonschema import DRAFT202012

from pytest_staging import files, schemas
from pytest_staging.load.plan import LoadPlan, LoadTask, seconds
from pytest_staging.load.thresholds import LoadThresholds
from pytest_staging.manifest.records import (
    NOT_FOUND_PATH,
    Auth,
    Cache,
    Endpoint,
    Environment,
    Health,
    Load,
    Manifest,
    ManifestError,
    Monitoring,
    Pagination,
    Performance,
    Probe,
    RateLimit,
    Resource,
    Security,
    Soak,
)

if TYPE_CHECKING:
    from pathlib import Path


def build(path: Path, document: Mapping[str, Any]) -> Manifest:
    """The manifest a document (already valid against the schema) describes."""
    return _Builder(path).manifest(document)


_ENDPOINT_KEYS = (
    "path",
    "method",
    "name",
    "envelope",
    "budget_ms",
    "category",
    "critical",
    "auth",
    "json",
)
"""Endpoint keys taken as written; status, schema, headers and pagination are converted."""


_SOAK_KEYS = (
    "memory_series",
    "memory_growth_per_hour",
    "cpu_series",
    "cpu_growth_per_hour",
    "error_rate",
    "max_failed_runs",
    "pass_rate_drop_per_hour",
    "p95_growth_per_hour",
    "p95_min_requests",
    "p95_noise_ms",
)
"""`[soak]` keys taken as written; `metrics_path` falls back to `[monitoring]`'s."""


_SECURITY_VALUES = ("http_port", "tls_min_days", "https", "hsts_min_age", "hsts_include_subdomains")
"""`[security]` keys taken as written."""


def _refs(document: Any) -> list[str]:
    """Every `$ref` string in a JSON document, walked without recursion (it may be deep)."""
    found, stack = [], [document]
    while stack:
        value = stack.pop()
        if isinstance(value, Mapping):
            if isinstance(value.get("$ref"), str):
                found.append(value["$ref"])
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


def _reason(error: BaseException) -> str:
    """Why a referenced file could not be used, in the words of the manifest's other errors:
    the first cause that is not `referencing`'s own wrapper."""
    if isinstance(error, PointerToNowhere):
        return f"the file has nothing at {error.ref}"
    while error.__cause__ is not None and type(error).__module__.startswith("referencing"):
        error = error.__cause__
    if isinstance(error, files.READ_ERRORS):
        return f"cannot read it: {files.unreadable(error)}"
    return f"{type(error).__name__}: {error}"


def _given(table: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The keys the table sets; the others keep the record's own defaults, which are the
    only place a default is written."""
    return {key: table[key] for key in keys if key in table}


def _statuses(value: int | list[int] | None, default: tuple[int, ...]) -> tuple[int, ...]:
    if value is None:
        return default
    return (value,) if isinstance(value, int) else tuple(value)


class _Builder:
    """Fills defaults and reads the schema files a validated document names."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._schemas: dict[Path, Mapping[str, Any]] = {}
        """One object per schema file: read and checked once, and its compiled validator
        is shared by every endpoint that names the file."""

    def manifest(self, doc: Mapping[str, Any]) -> Manifest:
        auth = Auth(**doc["auth"]) if "auth" in doc else None
        errors = doc.get("errors", {})
        gates = dict(doc.get("gates", {}))
        min_tests = gates.pop("min_tests", {})
        max_error_rate = gates.pop("max_error_rate", None)
        allow_partial = gates.pop("allow_partial", None)
        health = self._health(doc.get("health"))
        return Manifest(
            path=self._path,
            service=doc.get("service", {}).get("name", ""),
            environments=MappingProxyType(
                {
                    name: Environment(name, **env)
                    for name, env in doc.get("environments", {}).items()
                }
            ),
            health=health,
            envelope_schema=self._schema(doc.get("envelope", {}).get("schema"), "envelope.schema"),
            gates=MappingProxyType(gates),
            min_tests=MappingProxyType(min_tests),
            max_error_rate=max_error_rate,
            allow_partial=allow_partial,
            endpoints=tuple(self._endpoint(i, e) for i, e in enumerate(doc.get("endpoints", []))),
            auth=auth,
            not_found_path=errors.get("not_found_path", NOT_FOUND_PATH),
            bad_request=self._probe(errors.get("bad_request")),
            resources=tuple(self._resource(r, auth) for r in doc.get("resources", [])),
            security=self._security(doc.get("security", {}), health),
            monitoring=self._monitoring(doc.get("monitoring", {})),
            performance=Performance(
                **_given(doc.get("performance", {}), "samples", "concurrency", "baseline_tolerance")
            ),
            load=self._load(doc.get("load")),
            soak=self._soak(doc.get("soak", {}), doc.get("monitoring", {})),
        )

    def _health(self, table: Mapping[str, Any] | None) -> Health:
        """No `[health]` table: the common conventions. A table: only what it declares."""
        if table is None:
            return Health()
        return Health(
            **_given(table, "path", "healthy_value"),
            statuses=_statuses(table.get("status"), Health.statuses),
            status_field=table.get("status_field"),
            components=table.get("components"),
            version_field=table.get("version_field"),
        )

    def _endpoint(self, index: int, table: Mapping[str, Any]) -> Endpoint:
        pagination = table.get("pagination")
        return Endpoint(
            **_given(table, *_ENDPOINT_KEYS),
            statuses=_statuses(table.get("status"), Endpoint.statuses),
            schema=self._schema(table.get("schema"), f"endpoints[{index}].schema"),
            headers=MappingProxyType(table.get("headers", {})),
            pagination=Pagination(**pagination) if pagination else None,
        )

    def _probe(self, table: Mapping[str, Any] | None) -> Probe | None:
        if table is None:
            return None
        statuses = _statuses(table.get("status"), Probe.statuses)
        return Probe(**_given(table, "path", "method", "json"), statuses=statuses)

    def _resource(self, table: Mapping[str, Any], auth: Auth | None) -> Resource:
        return Resource(
            **_given(table, "path", "create", "name", "id_field"),
            item_path=table.get("item_path", table["path"].rstrip("/") + "/{id}"),
            auth=table.get("auth", auth is not None),
            create_statuses=_statuses(table.get("create_status"), Resource.create_statuses),
            delete_statuses=_statuses(table.get("delete_status"), Resource.delete_statuses),
        )

    def _security(self, table: Mapping[str, Any], health: Health) -> Security:
        limit = table.get("rate_limit")
        return Security(
            **_given(table, *_SECURITY_VALUES),
            paths=tuple(table.get("paths", [health.path])),
            rate_limit=RateLimit(**limit) if limit else None,
            frame_ancestors=tuple(table.get("frame_ancestors", ())),
        )

    def _monitoring(self, table: Mapping[str, Any]) -> Monitoring:
        cache = table.get("cache")
        return Monitoring(
            **_given(table, "metrics_path"),
            series=tuple(table.get("series", ())),
            cache=Cache(**cache) if cache else None,
        )

    def _load(self, table: Mapping[str, Any] | None) -> Load | None:
        if table is None:
            return None
        tasks = table.get("tasks", [])
        locustfile = table.get("locustfile")
        if bool(tasks) == bool(locustfile):
            raise self._error(
                "load", "declare what to request: [[load.tasks]] or load.locustfile (not both)"
            )
        plan_keys = _given(table, "users", "spawn_rate", "wait_ms", "processes")
        if "duration" in table:
            try:
                plan_keys["duration_s"] = seconds(table["duration"])
            except ValueError as exc:
                raise self._error("load.duration", str(exc)) from None
        plan = LoadPlan(
            **plan_keys,
            tasks=tuple(LoadTask(**task) for task in tasks),
            locustfile=self._locustfile(locustfile) if locustfile else None,
        )
        limits = _given(table, "p95_ms", "error_rate", "min_rps", "min_requests")
        return Load(plan, LoadThresholds(**limits))

    def _locustfile(self, name: str) -> Path:
        """The locustfile `name` names; one that exists but is no regular file (a FIFO, a
        device, a directory) is refused now, not found out at test time. A missing one is
        left to the load test, which says so: it may be written by an earlier step."""
        path = self._path.parent / name
        if not path.exists() or path.is_file():
            return path
        try:
            files.read_bytes(path, files.MAX_SCHEMA_BYTES)
        except files.READ_ERRORS as exc:
            problem = f"cannot read {path}: {files.unreadable(exc)}"
            raise self._error("load.locustfile", problem) from None
        return path

    def _soak(self, table: Mapping[str, Any], monitoring: Mapping[str, Any]) -> Soak:
        """Limits as written; the metrics path defaults to the monitoring suite's. A limit on a
        series needs the series: without it the limit would silently check nothing."""
        for series, limit in (
            ("memory_series", "memory_growth_per_hour"),
            ("cpu_series", "cpu_growth_per_hour"),
        ):
            if limit in table and series not in table:
                raise self._error(
                    f"soak.{limit}",
                    f"needs soak.{series}: the metric series to read the trend from",
                )
        metrics_path = _given(monitoring, "metrics_path") | _given(table, "metrics_path")
        return Soak(**_given(table, *_SOAK_KEYS), **metrics_path)

    def _schema(self, name: str | None, key: str) -> Mapping[str, Any] | None:
        """The JSON Schema in the file `name` (relative to the manifest), checked."""
        if name is None:
            return None
        file = (self._path.parent / name).resolve()
        if file in self._schemas:
            return self._schemas[file]
        try:
            schema = json.loads(files.read_bytes(file, files.MAX_SCHEMA_BYTES).decode("utf-8"))
        except files.READ_ERRORS as exc:
            raise self._error(key, f"cannot read {file}: {files.unreadable(exc)}") from None
        except RecursionError:
            raise self._error(key, f"{file} is nested too deeply to read") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._error(key, f"{file} is not valid JSON: {exc}") from None
        if not isinstance(schema, dict):
            raise self._error(key, f"{file} must hold a JSON Schema object")
        invalid = schemas.schema_error(schema)
        if invalid is not None:
            where = schemas.error_path(invalid, "toml")
            problem = f"{file} is not a valid JSON Schema at {where}: {invalid.message}"
            raise self._error(key, problem)
        if "$id" not in schema and "id" not in schema:  # relative `$ref`s start from the file
            schema = {"$id": file.as_uri(), **schema}
        self._check_refs(schema, file, key)
        self._schemas[file] = schema
        return schema

    def _check_refs(self, schema: Mapping[str, Any], file: Path, key: str) -> None:
        """Every `$ref` resolves now, within the file or to a local file, so no test waits on
        the network or meets a reference that does not resolve (`local_registry`)."""
        base = str(schema.get("$id") or schema.get("id") or file.as_uri())
        pending, seen = [(base, schema)], set()
        while pending:
            uri, document = pending.pop()
            if uri in seen:
                continue
            seen.add(uri)
            root = referencing.Resource.from_contents(document, default_specification=DRAFT202012)
            resolver = schemas.local_registry().with_resource(uri, root).resolver(base_uri=uri)
            for ref in _refs(document):
                target = urldefrag(urljoin(uri, ref)).url
                if urlsplit(target).scheme != "file":
                    raise self._error(
                        key,
                        f"{file}: $ref {ref!r} points to {target}: schemas are never fetched "
                        "from the network; save that schema beside this file and refer to it "
                        "by its file name",
                    )
                try:
                    resolver.lookup(ref)
                    whole = resolver.lookup(target).contents
                except Unresolvable as exc:
                    problem = f"{file}: $ref {ref!r} does not resolve: {_reason(exc)}"
                    raise self._error(key, problem) from None
                pending.append((target, whole))

    def _error(self, key: str, problem: str) -> ManifestError:
        return ManifestError(self._path, [f"{key}: {problem}"])
