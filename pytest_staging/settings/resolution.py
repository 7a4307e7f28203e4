"""Resolve every option once into a frozen `StagingSettings` kept in `config.stash`.

Order: command line > environment variable > ini key > manifest > default.
The manifest (`staging.toml`) adds the service's description, its gates and
the URL of the environment chosen by name. Environment
variables are read here, at resolution time, never baked into argparse
defaults, so `--help` shows the true defaults. Every bad value becomes a
`pytest.UsageError` naming the option (or variable, or ini key) and what
would be valid.
"""

from __future__ import annotations

import argparse
import os
import shlex
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from pytest_staging.markers import BUILTIN_CATEGORIES, DEFAULT_THRESHOLDS, OTHER
from pytest_staging.redaction import Secret
from pytest_staging.settings import defaults, parsing
from pytest_staging.settings.environments import sensitive_environment
from pytest_staging.settings.options import CATEGORIES_INI, OPTIONS, Found, Option

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from pytest_staging.manifest.records import Manifest


T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Selection:
    """How the user narrowed the run with pytest's own options, as shown in the reports.

    Only options that change WHICH tests run count: `--ff` and `--nf` merely reorder.
    `rerun` names the one that chose the tests by an earlier run's results (`--lf`,
    `--sw`): such a run checks what failed before, not the deployment, so it never GOes.
    """

    narrowing: tuple[str, ...] = ()
    rerun: str | None = None


def selection(config: pytest.Config) -> Selection:
    """The run's `-k`, `-m`, `--deselect`, `--lf` and `--sw`, read from pytest's options."""
    option = config.option
    shown = [
        shlex.join([flag, value])
        for flag, value in (("-k", option.keyword), ("-m", option.markexpr))
        if value
    ]
    shown += [shlex.join(["--deselect", nodeid]) for nodeid in option.deselect or ()]
    rerun = [
        flag
        for flag, given in (
            ("--lf", getattr(option, "lf", False)),
            ("--sw", _stepwise(option)),
        )
        if given
    ]
    return Selection(narrowing=(*shown, *rerun), rerun=" ".join(rerun) or None)


def _stepwise(option: argparse.Namespace) -> bool:
    """`--sw` or `--sw-skip` resume after the test that failed last time; `--sw-reset`
    starts from the first test, so it is a whole run (that stops at its first failure)."""
    stepwise = getattr(option, "stepwise", False) or getattr(option, "stepwise_skip", False)
    return bool(stepwise) and not getattr(option, "stepwise_reset", False)


@dataclass(frozen=True)
class StagingSettings:
    """Everything the run needs to know about the target and the gate, resolved once."""

    url: str | None = None
    environment: str = defaults.ENVIRONMENT
    demo: str | None = None
    token: Secret | None = None
    headers: tuple[tuple[str, Secret], ...] = ()
    timeout: float = defaults.TIMEOUT_S
    request_deadline: float | None = None
    """--staging-request-deadline; None: client.DEADLINE_TIMEOUTS times the timeout."""
    max_body: int | None = None
    """--staging-max-body in bytes; None: client.DEFAULT_MAX_BODY_BYTES."""
    ca_bundle: Path | None = None
    insecure: bool = False
    wait: float = 0.0
    gates: Mapping[str, float] = field(default_factory=dict)
    report_path: Path | None = None
    summary_md_path: Path | None = None
    expect_version: str | None = None
    categories: tuple[str, ...] = BUILTIN_CATEGORIES
    loaded_manifest: Manifest | None = None
    sensitive_environment: str | None = None
    allow_destructive: bool = False
    suites: bool = False
    baseline: Path | None = None
    """--staging-baseline: an earlier JSON report, read by the controller (not parsed here)."""
    baseline_tolerance: float = parsing.DEFAULT_TOLERANCE
    allow_sensitive_load: bool = False
    retries: int = defaults.RETRIES
    retry_on: tuple[int, ...] = defaults.RETRY_ON
    flaky_fails: frozenset[str] = frozenset()
    """Categories in which a flaky pass counts as failed (`--staging-flaky-fails`)."""
    allow_partial: bool = True
    """A run narrowed by -k, -m or --deselect may GO (it is noted); False: it is NO-GO."""
    max_error_rate: float | None = None
    """Percent of all the run's requests that may fail; None: the rule is off."""
    fail_fast: bool = False
    selection: Selection = field(default_factory=Selection)
    """How the user narrowed the run (`-k`, `-m`, `--deselect`, `--lf`, `--sw`)."""

    @property
    def sensitive(self) -> bool:
        """Real users are there: destructive tests never run, load is refused."""
        return self.sensitive_environment is not None

    @property
    def manifest(self) -> Manifest:
        """The service's manifest; an empty one when the run has none."""
        return self.loaded_manifest or _empty_manifest()

    @property
    def active(self) -> bool:
        """A target is configured: the gate runs. Otherwise the plugin stays inert."""
        return self.url is not None or self.demo is not None

    def thresholds(self) -> dict[str, float]:
        """Thresholds in force: defaults overridden by explicit gates."""
        return {**DEFAULT_THRESHOLDS, **self.gates}

    def secrets(self) -> list[Secret]:
        token = [self.token] if self.token else []
        return token + [value for _, value in self.headers]


@cache
def _empty_manifest() -> Manifest:
    """Built on first use: the records cost ~20 ms to import (-X importtime), and a run
    without a target, every plain `pytest`, never needs them."""
    from pytest_staging.manifest.records import Manifest

    return Manifest()


class _Lookup:
    """Reads one option from the command line, the environment and the ini file, in order.

    `options` is the parsed command line: `config.option`, or, before pytest has parsed it
    all (while the first conftests load), the options known so far."""

    def __init__(
        self,
        config: pytest.Config,
        environ: Mapping[str, str],
        options: argparse.Namespace | None = None,
    ) -> None:
        self._config = config
        self._environ = environ
        self._options = config.option if options is None else options

    def find(self, option: Option) -> Found:
        from_cli = getattr(self._options, option.dest, None)
        if from_cli is True:
            return Found(True, option.flag, 0)
        if from_cli not in (None, False):
            _refuse_empty(option, from_cli, option.flag)
            return Found(_parse_all(option, from_cli, option.flag), option.flag, 0)
        from_env = self._environ.get(option.env_var) if option.env else None
        if from_env is not None and (from_env.strip() or option.kind != "flag"):
            _refuse_empty(option, from_env, option.env_var)
            return Found(_parse_all(option, from_env, option.env_var), option.env_var, 1)
        from_ini = self._config.getini(option.dest) if option.ini else None
        if from_ini:
            source = f"ini key {option.dest}"
            return Found(_parse_all(option, from_ini, source), source, 2)
        return Found([] if option.kind == "append" else option.default, "default", 3)


def _refuse_empty(option: Option, raw: str | list[str], source: str) -> None:
    """A value given but empty is a mistake, never "not given": `--staging-expect-version=
    "$VERSION"` with the variable unset would turn the version check off, and an empty
    `--staging-url` the whole gate. The same for an environment variable set to nothing,
    the common form of an unset CI variable (an empty flag variable still means "not set")."""
    items = [raw] if isinstance(raw, str) else raw
    if not items or any(not item.strip() for item in items):
        where = source if source == option.flag else f"{source} (for {option.flag})"
        raise pytest.UsageError(
            f"{where}: the option was given but empty: give a value, or leave it out "
            "(in CI, check the variable that should fill it)"
        )


def _parse_all(option: Option, raw: str | list[str], source: str) -> Any:
    if option.kind == "append":
        items = raw if isinstance(raw, list) else _split_env_list(option, raw)
        return [_parse_one(option, item, source) for item in items if item.strip()]
    return _parse_one(option, raw if isinstance(raw, str) else " ".join(raw), source)


def _split_env_list(option: Option, raw: str) -> list[str]:
    separator = "," if option.name == "gate" else "\n"
    return raw.split(separator)


def _parse_one(option: Option, raw: str, source: str) -> Any:
    try:
        return option.parse(raw)
    except argparse.ArgumentTypeError as exc:
        where = source if source == option.flag else f"{source} (for {option.flag})"
        raise pytest.UsageError(f"{where}: {exc}") from None


def resolve(config: pytest.Config, environ: Mapping[str, str] = os.environ) -> StagingSettings:
    """Build the settings for this run, or raise `pytest.UsageError` naming the bad option."""
    lookup = _Lookup(config, environ)
    found = {option.name: lookup.find(option) for option in OPTIONS}
    values = {name: item.value for name, item in found.items()}
    categories = BUILTIN_CATEGORIES + tuple(config.getini(CATEGORIES_INI))
    if values["insecure"] and values["ca_bundle"]:
        raise pytest.UsageError(
            f"{found['insecure'].source} and {found['ca_bundle'].source} contradict each other: "
            "give the CA bundle to verify certificates, or --staging-insecure to skip it"
        )
    url, demo = _target(found["url"], found["demo"])
    if url is None and demo is None and found["env"].rank == found["manifest"].rank == 3:
        # Inert. A staging.toml merely found in the rootdir describes the service but never
        # points a plain `pytest` run at a server: the environment or the manifest must be
        # named (option, variable or ini key). Such a run does not even read it.
        return StagingSettings(categories=categories, suites=values["suites"])
    # The manifest code costs ~40 ms to import (measured with -X importtime): a run
    # without a target, every plain `pytest`, never needs it.
    from pytest_staging.settings import manifest_choice

    manifest = manifest_choice.find(config, found["manifest"], demo=demo is not None)
    manifest_choice.check_categories(manifest, categories)
    if url is None and demo is None:
        url = manifest_choice.environment_url(manifest, found["env"])
    if values["expect_version"] and manifest.health.version_field is None:
        raise pytest.UsageError(
            f"{found['expect_version'].source} needs the version in the health document: "
            f"declare health.version_field in {manifest.path}"
        )
    token = values["token"]
    return StagingSettings(
        url=url,
        environment=values["env"],
        demo=demo,
        token=Secret(token) if token else None,
        headers=tuple((name, Secret(value)) for name, value in values["header"]),
        timeout=values["timeout"],
        request_deadline=values["request_deadline"],
        max_body=values["max_body"],
        ca_bundle=values["ca_bundle"],
        insecure=values["insecure"],
        wait=values["wait"],
        gates=MappingProxyType({**manifest.gates, **_gates(found["gate"], categories)}),
        report_path=values["report"],
        summary_md_path=values["summary_md"],
        expect_version=values["expect_version"],
        categories=categories,
        loaded_manifest=manifest,
        sensitive_environment=None
        if demo
        else sensitive_environment(manifest.environments.values(), url, chosen=values["env"]),
        allow_destructive=values["allow_destructive"] or demo is not None,
        suites=values["suites"],
        baseline=values["baseline"],
        baseline_tolerance=_first_set(
            values["baseline_tolerance"],
            manifest.performance.baseline_tolerance,
            parsing.DEFAULT_TOLERANCE,
        ),
        allow_sensitive_load=values["allow_sensitive_load"],
        retries=values["retries"],
        retry_on=values["retry_on"],
        flaky_fails=_flaky_fails(found["flaky_fails"], categories),
        allow_partial=_first_set(values["allow_partial"], manifest.allow_partial, True),
        max_error_rate=_first_set(values["max_error_rate"], manifest.max_error_rate, None),
        fail_fast=values["fail_fast"],
        selection=selection(config),
    )


def _first_set(option: T | None, manifest: T | None, default: U) -> T | U:
    """The first value given, in precedence order (option, manifest, default)."""
    return next((value for value in (option, manifest) if value is not None), default)


def report_path(
    config: pytest.Config,
    environ: Mapping[str, str] = os.environ,
    name: str = "report",
    options: argparse.Namespace | None = None,
) -> Path | None:
    """Where a report goes (`report`, `summary_md`), if that one setting is readable, even
    when others are not."""
    option = next(option for option in OPTIONS if option.name == name)
    try:
        path: Path | None = _Lookup(config, environ, options).find(option).value
    except pytest.UsageError:
        return None
    return path


_TARGET_OPTIONS = ("url", "demo", "env", "manifest")
"""Naming any of these makes a run gated (see the inert case in `resolve`)."""


def names_target(
    config: pytest.Config,
    environ: Mapping[str, str] = os.environ,
    options: argparse.Namespace | None = None,
) -> bool:
    """Whether the run is gated, judged from the options alone, before any conftest loads:
    a target, environment or manifest is given. A value that does not parse counts as given
    (its usage error comes when the settings are resolved)."""
    lookup = _Lookup(config, environ, options)
    try:
        return any(
            lookup.find(option).rank < 3 for option in OPTIONS if option.name in _TARGET_OPTIONS
        )
    except pytest.UsageError:
        return True


def _target(url: Found, demo: Found) -> tuple[str | None, str | None]:
    """The URL or the demo mode, whichever comes from the higher-precedence source."""
    if not (url.value and demo.value):
        return url.value, demo.value
    if url.rank == demo.rank:
        raise pytest.UsageError(
            f"{demo.source} and {url.source} both name the target: give one of them"
        )
    return (url.value, None) if url.rank < demo.rank else (None, demo.value)


def _gates(gates: Found, categories: tuple[str, ...]) -> dict[str, float]:
    for name, _ in gates.value:
        _check_category(gates, name, (*categories, OTHER))
    return dict(gates.value)


def _flaky_fails(found: Found, categories: tuple[str, ...]) -> frozenset[str]:
    """The named categories, checked like --staging-gate's; `all` is every one, `other` too."""
    known = (*categories, OTHER)
    names: tuple[str, ...] = found.value or ()
    if names == (parsing.ALL_CATEGORIES,):
        return frozenset(known)
    for name in names:
        _check_category(found, name, known, alternative=parsing.ALL_CATEGORIES)
    return frozenset(names)


def _check_category(
    found: Found, name: str, known: tuple[str, ...], *, alternative: str = ""
) -> None:
    problem = parsing.unknown_category(name, known, alternative=alternative)
    if problem is not None:
        raise pytest.UsageError(f"{found.source}: {problem}")


SETTINGS_KEY = pytest.StashKey[StagingSettings]()
"""Where the resolved settings live in `config.stash`."""
DESELECTED_KEY = pytest.StashKey[int]()
"""How many tests the run's selection left out, counted where collection happens (this
process without xdist; each worker's count comes back when it finishes)."""
