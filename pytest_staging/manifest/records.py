"""The target manifest (`staging.toml`): what one service looks like to the suites.

Read with `tomllib`, checked against `schemas/manifest.json` (unknown keys are
errors), then turned by `manifest_builder` into the frozen records defined
here, with every default filled in, so the suites never guess. Any problem is
one `ManifestError` whose lines each name the key path and what would be valid.

Secrets never live in a manifest: it names environment variables, and
`credentials()` reads them only when a test needs them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_staging.redaction import Secret

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from pytest_staging.load.plan import LoadPlan
    from pytest_staging.load.thresholds import LoadThresholds

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
    method: str = "POST"
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


HSTS_PRELOAD_MIN_AGE = 31_536_000
"""One year in seconds: the shortest HSTS `max-age` browsers' preload lists accept."""


@dataclass(frozen=True)
class Security:
    """What the security suite holds the service to; values are judged, not just present."""

    paths: tuple[str, ...] = ()
    http_port: int = 80
    tls_min_days: int = 14
    rate_limit: RateLimit | None = None
    https: str | None = None
    """`required` or `optional` as written; `None` leaves it to `requires_https()`."""
    hsts_min_age: int = HSTS_PRELOAD_MIN_AGE
    hsts_include_subdomains: bool = False
    frame_ancestors: tuple[str, ...] = ()
    """Origins besides the service itself that may frame it (CSP `frame-ancestors`)."""

    def requires_https(self, sensitive: bool) -> bool:
        """`https` as written; unset, a sensitive environment requires HTTPS and others not,
        so production is never judged secure over plain HTTP by default."""
        return self.https == "required" if self.https is not None else sensitive


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
class Performance:
    """How latency budgets are sampled, and how much slower than the baseline is tolerated."""

    samples: int = 20
    concurrency: int = 2
    baseline_tolerance: float | None = None


@dataclass(frozen=True)
class Load:
    """The `[load]` table: the run to make and what it must reach."""

    plan: LoadPlan
    thresholds: LoadThresholds


DEFAULT_METRICS_PATH = "/metrics"


@dataclass(frozen=True)
class Soak:
    """The `[soak]` table: what `pytest-staging soak` reads between runs and how much drift
    it tolerates. Every limit is per hour, over the Theil-Sen line of the samples: a drift only
    when its 95 % confidence interval lies beyond the limit, with 6 points over 10 minutes."""

    metrics_path: str = DEFAULT_METRICS_PATH
    memory_series: str | None = None
    memory_growth_per_hour: float = 5.0
    """Percent of the first sample, per hour."""
    cpu_series: str | None = None
    cpu_growth_per_hour: float = 10.0
    """Percentage points of one core, per hour."""
    error_rate: float = 1.0
    """Percent of the requests of all runs together that failed."""
    max_failed_runs: int = 0
    pass_rate_drop_per_hour: float = 1.0
    """Percentage points of a category's pass rate, per hour."""
    p95_growth_per_hour: float = 20.0
    """Percent of the first p95, per hour."""
    p95_min_requests: int = 20
    """A run's p95 of a request enters the trend only when it rests on this many requests."""
    p95_noise_ms: float = 10.0
    """A p95 trend whose whole change is smaller than this is jitter, never a drift."""

    @property
    def series(self) -> tuple[str, ...]:
        """The metric series to read after each run."""
        return tuple(name for name in (self.memory_series, self.cpu_series) if name)


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
    max_error_rate: float | None = None
    """`[gates] max_error_rate`: percent of all the run's requests that may fail."""
    allow_partial: bool | None = None
    """`[gates] allow_partial`; `None` when the manifest does not say."""
    endpoints: tuple[Endpoint, ...] = ()
    auth: Auth | None = None
    not_found_path: str = NOT_FOUND_PATH
    bad_request: Probe | None = None
    resources: tuple[Resource, ...] = ()
    security: Security = field(default_factory=Security)
    monitoring: Monitoring = field(default_factory=Monitoring)
    performance: Performance = field(default_factory=Performance)
    load: Load | None = None
    soak: Soak = field(default_factory=Soak)

    def __repr__(self) -> str:
        """Short, because a manifest is an argument of every suite test: pytest's tracebacks
        and `-l` would otherwise print the whole service description at each failure."""
        source = self.path.name if self.path is not None else "nothing declared"
        return f"<Manifest {self.service or source!r} ({len(self.endpoints)} endpoints)>"

    @property
    def uses_envelope(self) -> bool:
        return self.envelope_schema is not None or any(e.envelope for e in self.endpoints)

    def budgets(self) -> dict[str, float]:
        """Each declared `budget_ms` by request name ("GET /path"), as latency is summarised."""
        return {
            f"{e.method} {e.path}": e.budget_ms for e in self.endpoints if e.budget_ms is not None
        }
