"""Assertions for HTTP responses whose failures say what, where and what came instead.

Each helper hides itself from the traceback, so a failure points at the
test's line; messages name the request, the expectation, the JSON pointer of
the offending value and a redacted, cut body excerpt. Whatever the target
chose (the path it redirected to, a header value, a value in its body) is
shown `printable`: it cannot steer the terminal. Schemas are compiled once
and reused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pytest_staging import json_pointer, schemas
from pytest_staging.redaction import response_excerpt, shown

if TYPE_CHECKING:
    import httpx

HEALTHY = "healthy"


def _describe(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path}"


def _fail(response: httpx.Response, problem: str) -> AssertionError:
    what = shown(f"{_describe(response)}: {problem}")
    return AssertionError(f"{what}\nbody: {response_excerpt(response)}")


def _check_schema(
    response: httpx.Response, document: Any, schema: Mapping[str, Any], prefix: str, what: str
) -> None:
    __tracebackhide__ = True
    error = schemas.best_error(schema, document, formats=True)
    if error is not None:
        where = prefix + schemas.error_path(error) or "/"
        raise _fail(response, f"{what} does not match at {where}: {error.message}")


def json_body(response: httpx.Response) -> Any:
    """The parsed JSON body, or an `AssertionError` saying it is not JSON."""
    __tracebackhide__ = True
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        content_type = response.headers.get("content-type", "no content-type")
        raise _fail(response, f"expected a JSON body, got {content_type}") from None
    except RecursionError:
        raise _fail(response, "the JSON body is nested too deeply to read") from None
    except ValueError as exc:  # a number past Python's digit limit, say
        raise _fail(response, f"the JSON body cannot be read: {exc}") from None


def assert_status(response: httpx.Response, expected: int | Iterable[int]) -> None:
    """The response's status is `expected` (or one of them)."""
    __tracebackhide__ = True
    allowed = {expected} if isinstance(expected, int) else set(expected)
    if response.status_code not in allowed:
        wanted = " or ".join(str(code) for code in sorted(allowed))
        raise _fail(response, f"expected status {wanted}, got {response.status_code}")


def assert_envelope(
    response: httpx.Response,
    data_schema: Mapping[str, Any] | None = None,
    *,
    envelope_schema: Mapping[str, Any] | None = None,
) -> Any:
    """The body is a valid envelope (the built-in one unless `envelope_schema` is given)
    and its `data` matches `data_schema`; returns `data`."""
    __tracebackhide__ = True
    body = json_body(response)
    _check_schema(response, body, envelope_schema or schemas.load("envelope"), "", "envelope")
    if data_schema is not None:
        data = _read(response, body, "/data")
        _check_schema(response, data, data_schema, "/data", "envelope data")
    return body.get("data") if isinstance(body, Mapping) else None


def assert_schema(response: httpx.Response, schema: Mapping[str, Any]) -> Any:
    """The JSON body matches `schema`; returns the body."""
    __tracebackhide__ = True
    body = json_body(response)
    _check_schema(response, body, schema, "", "body")
    return body


def json_at(response: httpx.Response, pointer: str) -> Any:
    """The value at the JSON pointer in the body, or an `AssertionError` naming the pointer."""
    __tracebackhide__ = True
    return _read(response, json_body(response), pointer)


def assert_health(
    response: httpx.Response,
    *,
    status_field: str = "/status",
    components: str | None = "/components",
    healthy_value: str = HEALTHY,
) -> Any:
    """The health document says healthy, and so does every component; returns the document."""
    __tracebackhide__ = True
    document = json_body(response)
    _check_schema(response, document, schemas.load("health"), "", "health document")
    unhealthy = [(status_field, _read(response, document, status_field))]
    if components is not None and _has(document, components):
        states = _component_states(response, document, components)
        unhealthy += [(f"{components}/{name}", state) for name, state in states.items()]
    bad = [(where, state) for where, state in unhealthy if state != healthy_value]
    if bad:
        listed = ", ".join(f"{where} is {state!r}" for where, state in bad)
        raise _fail(response, f"not healthy: {listed} (expected {healthy_value!r})")
    return document


def component_states(response: httpx.Response, pointer: str) -> dict[str, Any]:
    """Each component's state in the object at `pointer` (a string, or an object's `status`)."""
    __tracebackhide__ = True
    return _component_states(response, json_body(response), pointer)


def _component_states(response: httpx.Response, document: Any, pointer: str) -> dict[str, Any]:
    __tracebackhide__ = True
    parts = _read(response, document, pointer)
    if not isinstance(parts, Mapping):
        raise _fail(response, f"expected an object of components at {pointer}")
    return {
        str(name): value.get("status") if isinstance(value, Mapping) else value
        for name, value in parts.items()
    }


def _has(document: Any, pointer: str) -> bool:
    try:
        json_pointer.resolve(document, pointer)
    except json_pointer.PointerError:
        return False
    return True


def _read(response: httpx.Response, document: Any, pointer: str) -> Any:
    __tracebackhide__ = True
    try:
        return json_pointer.resolve(document, pointer)
    except json_pointer.PointerError as exc:
        raise _fail(response, f"expected a value at {pointer}: {exc}") from None
