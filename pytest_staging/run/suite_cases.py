"""Parametrize the bundled suites from the manifest: one test per declared thing.

Also the one way the suites send a declared request (`send`).

A suite test names what it checks by its argument (`endpoint`, `resource`,
...); this module supplies the cases with readable ids (`GET /api/items`) and
the category marker each endpoint declares. When the manifest declares none,
the test shows up once as skipped, naming the manifest key that would enable it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import pytest

from pytest_staging.manifest.records import Endpoint, Manifest
from pytest_staging.markers import CRITICAL, DESTRUCTIVE
from pytest_staging.settings.resolution import SETTINGS_KEY

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    import httpx
    from _pytest.mark.structures import MarkDecorator, ParameterSet

Cases = tuple["Sequence[ParameterSet]", str]


def _endpoint_marks(endpoint: Endpoint) -> list[MarkDecorator]:
    marks = [getattr(pytest.mark, endpoint.category)]
    if endpoint.critical:
        marks.append(getattr(pytest.mark, CRITICAL))
    return marks


def _endpoints(endpoints: Iterable[Endpoint]) -> list[ParameterSet]:
    return [pytest.param(e, id=e.label, marks=_endpoint_marks(e)) for e in endpoints]


def _all_endpoints(manifest: Manifest) -> Cases:
    return _endpoints(manifest.endpoints), "no [[endpoints]] in the manifest"


def _enveloped(manifest: Manifest) -> Cases:
    chosen = (e for e in manifest.endpoints if e.envelope)
    return _endpoints(chosen), "no endpoint declares envelope = true"


def _with_schema(manifest: Manifest) -> Cases:
    chosen = (e for e in manifest.endpoints if e.schema is not None)
    return _endpoints(chosen), "no endpoint declares a schema"


def _paginated(manifest: Manifest) -> Cases:
    chosen = (e for e in manifest.endpoints if e.pagination is not None)
    return _endpoints(chosen), "no endpoint declares pagination"


def _budgeted(manifest: Manifest) -> Cases:
    performance = pytest.mark.performance
    cases = [
        pytest.param(e, id=e.label, marks=performance)
        for e in manifest.endpoints
        if e.budget_ms is not None
    ]
    return cases, "no endpoint declares budget_ms"


def _resources(manifest: Manifest) -> Cases:
    destructive = getattr(pytest.mark, DESTRUCTIVE)
    cases = [pytest.param(r, id=r.label, marks=destructive) for r in manifest.resources]
    return cases, "no [[resources]] in the manifest"


def _security_paths(manifest: Manifest) -> Cases:
    cases = [pytest.param(path, id=path) for path in manifest.security.paths]
    return cases, "no security.paths in the manifest"


CASES: dict[str, Callable[[Manifest], Cases]] = {
    "endpoint": _all_endpoints,
    "enveloped_endpoint": _enveloped,
    "schema_endpoint": _with_schema,
    "paginated_endpoint": _paginated,
    "budgeted_endpoint": _budgeted,
    "resource": _resources,
    "security_path": _security_paths,
}
"""Argument name of a suite test -> its cases from the manifest."""


def parametrize(metafunc: pytest.Metafunc) -> None:
    """`pytest_generate_tests` of the bundled suites."""
    settings = metafunc.config.stash.get(SETTINGS_KEY, None)
    manifest = settings.manifest if settings is not None else Manifest()
    for name, cases_for in CASES.items():
        if name in metafunc.fixturenames:
            cases, missing = cases_for(manifest)
            metafunc.parametrize(name, cases or [_nothing_declared(missing)])


def _nothing_declared(missing: str) -> Any:
    return pytest.param(None, id="none declared", marks=pytest.mark.skip(reason=missing))


class Declared(Protocol):
    """A request the manifest declares: an endpoint, a probe, a rate-limit target."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def json(self) -> Any: ...


def send(client: httpx.Client, declared: Declared) -> httpx.Response:
    """Send a declared request with its body and, for endpoints, its headers."""
    headers = dict(getattr(declared, "headers", {}))
    return client.request(declared.method, declared.path, json=declared.json, headers=headers)
