"""The fixtures users' tests ask for: the settings, the manifest, the target and the clients.

pytest imports this module in every run, with a target or without; the modules behind the
clients and the latency and load objects (httpx, tenacity, locust's plan: ~100 ms and
more) are imported inside the fixtures that use them, once a test asks for one.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import TYPE_CHECKING

import pytest

from pytest_staging.http.target import NO_TARGET_MESSAGE, StagingTarget
from pytest_staging.phase_log import PHASE_LOG_KEY
from pytest_staging.settings.resolution import SETTINGS_KEY, StagingSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import httpx

    from pytest_staging.manifest.records import Manifest
    from pytest_staging.performance.budgets import StagingLatency, StagingLoad


@pytest.fixture(scope="session")
def staging_settings(pytestconfig: pytest.Config) -> StagingSettings:
    """The run's resolved settings (options, environment, manifest); read-only."""
    return pytestconfig.stash.get(SETTINGS_KEY, None) or StagingSettings()


@pytest.fixture(scope="session")
def staging_manifest(staging_settings: StagingSettings) -> Manifest:
    """The target manifest; an empty `Manifest()` when the run has none."""
    return staging_settings.manifest


@pytest.fixture(scope="session")
def staging_target(staging_settings: StagingSettings) -> StagingTarget:
    """The configured target; fails with how to configure one when there is none."""
    if staging_settings.url is None:
        pytest.fail(NO_TARGET_MESSAGE, pytrace=False)
    return StagingTarget.from_url(staging_settings.url, staging_settings.environment)


def _session_client(
    config: pytest.Config, settings: StagingSettings, target: StagingTarget
) -> httpx.Client:
    """A client timed into the run's request log, its retries reported to the running test."""
    from pytest_staging.http.client import build_client  # httpx: see the module docstring

    return build_client(settings, target, config.stash[PHASE_LOG_KEY], retry=True)


@pytest.fixture(scope="session")
def staging_client(
    pytestconfig: pytest.Config, staging_settings: StagingSettings, staging_target: StagingTarget
) -> Iterator[httpx.Client]:
    """One `httpx.Client` for the session: base URL, timeout, TLS, auth; every request timed."""
    with _session_client(pytestconfig, staging_settings, staging_target) as client:
        yield client


@pytest.fixture(scope="session")
def staging_anonymous_client(
    pytestconfig: pytest.Config, staging_settings: StagingSettings, staging_target: StagingTarget
) -> Iterator[httpx.Client]:
    """Like `staging_client` (TLS, timeout, timing) but with no credentials at all: no token,
    no extra headers, no user:password from the URL; for "is this really protected?" checks."""
    settings = dataclasses.replace(staging_settings, token=None, headers=())
    anonymous = dataclasses.replace(staging_target, username=None, password=None)
    with _session_client(pytestconfig, settings, anonymous) as client:
        yield client


@pytest.fixture(scope="session")
def staging_auth_client(
    pytestconfig: pytest.Config,
    staging_settings: StagingSettings,
    staging_target: StagingTarget,
    staging_anonymous_client: httpx.Client,
) -> Iterator[httpx.Client]:
    """A client that carries the manifest's `[auth]` credentials: the token from a login,
    HTTP Basic, or the `--staging-token`. Fails (for the tests that need it) when a
    credential variable is missing or the login is refused."""
    from pytest_staging.http.auth import CannotAuthenticate, authenticate  # (module docstring)

    try:
        settings, target = authenticate(staging_settings, staging_target, staging_anonymous_client)
    except CannotAuthenticate as exc:  # the message alone: no traceback, no exception chain
        raise pytest.fail.Exception(str(exc), pytrace=False) from None
    with _session_client(pytestconfig, settings, target) as client:
        yield client


@pytest.fixture
def staging_latency(
    pytestconfig: pytest.Config, staging_settings: StagingSettings, staging_client: httpx.Client
) -> StagingLatency:
    """Sample a request N times with bounded concurrency and check its percentiles:
    `staging_latency.assert_within(staging_latency.sample("/api/items"), p95_ms=200)`.
    Defaults (samples, concurrency) come from the manifest's `[performance]` table."""
    from pytest_staging.performance.budgets import StagingLatency  # (module docstring)

    performance = staging_settings.manifest.performance
    phase_log = pytestconfig.stash[PHASE_LOG_KEY]
    return StagingLatency(staging_client, phase_log, performance.samples, performance.concurrency)


@pytest.fixture
def staging_load(
    pytestconfig: pytest.Config,
    staging_settings: StagingSettings,
    staging_target: StagingTarget,
    tmp_path_factory: pytest.TempPathFactory,
) -> StagingLoad:
    """Run locust (in a subprocess) against the target and check its thresholds:
    `staging_load.from_manifest()` or `staging_load.run(tasks=["/api/items"], users=20, ...)`."""
    from pytest_staging.performance.budgets import StagingLoad  # (module docstring)

    return StagingLoad(
        staging_settings,
        staging_target,
        lambda: tmp_path_factory.mktemp("staging-load"),
        pytestconfig.stash[PHASE_LOG_KEY],
        _terminal_writer(pytestconfig),
    )


def _terminal_writer(config: pytest.Config) -> Callable[[str], None] | None:
    """Write a line to the terminal from inside a test (past output capture); controller only."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or hasattr(config, "workerinput"):
        return None
    capture = config.pluginmanager.get_plugin("capturemanager")

    def write(line: str) -> None:
        uncaptured = capture.global_and_fixture_disabled() if capture else contextlib.nullcontext()
        with uncaptured:
            reporter.write_line(line)

    return write
