"""pytest-staging's entry point: options, markers, and the wiring of a gated run.

Lifecycle, top to bottom:
- `pytest_addoption`: the `--staging-*` options and `staging_*` ini keys.
- `pytest_load_initial_conftests` (before any conftest is imported): a run that names a
  target writes its NO-GO reports at once and registers `VerdictGuard` (run.verdict_guard),
  which makes sure a run ending without the gate's verdict says why and never exits 0.
- `pytest_configure`: markers; settings resolved once into `config.stash`;
  with a target, the demo service started (controller only) and the
  controller's `GateController` (run.controller) registered, plus `XdistHooks`
  (run.xdist_hooks) when xdist is loaded; with `--staging-suites`, the bundled
  suites added to the paths.
  Without a target nothing else happens: the plugin stays inert.
- `pytest_collection_modifyitems`: smoke and critical tests first (the same order
  in every xdist worker), destructive tests withheld unless allowed.
- `pytest_deselected`: the tests the user's selection left out, counted where
  collection happens; each xdist worker hands its count back when it finishes.
- with a target, `ReportDataWriter` (controller and workers): the reports carry
  the test's categories, criticality and requests, so the controller counts
  the same with and without xdist; and `SecretMasking` (controller and workers):
  every secret the run knows is masked in what pytest and its plugins render
  (failures, captured output, logs, warnings, pytest-metadata's table).
Heavy modules (httpx, tenacity, jsonschema, the demo) load only when needed: the imports
inside functions below are the modules of a gated run, which a run without a target never
loads (`bench/startup.py` measures it; httpx alone costs ~100 ms).
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

import pytest

from pytest_staging.fixtures import (
    staging_anonymous_client,
    staging_auth_client,
    staging_client,
    staging_latency,
    staging_load,
    staging_manifest,
    staging_settings,
    staging_target,
)
from pytest_staging.markers import CRITICAL, MARKERS
from pytest_staging.redaction import redactor
from pytest_staging.run import bundled_suites
from pytest_staging.run.xdist_hooks import (
    XDIST_PLUGIN,
    XdistHooks,
    hand_back_deselected,
    is_worker,
    worker_url,
)
from pytest_staging.settings import resolution
from pytest_staging.settings.options import add_options
from pytest_staging.settings.resolution import DESELECTED_KEY, SETTINGS_KEY, StagingSettings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_staging.run.controller import GateController

__all__ = [
    "staging_anonymous_client",
    "staging_auth_client",
    "staging_client",
    "staging_latency",
    "staging_load",
    "staging_manifest",
    "staging_settings",
    "staging_target",
]

GUARD_PLUGIN = "staging-verdict-guard"
XDIST_WORKER_ENV = "PYTEST_XDIST_WORKER"
"""Set by xdist in each worker process, before the worker's pytest reads its options."""
SMOKE = "smoke"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


INFORMATIONAL = ("help", "version", "markers", "showfixtures", "show_fixtures_per_test")
"""pytest's options that only show something: such a run is never gated."""


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """The earliest moment the options are known, before any conftest is imported: a gated
    run's reports become a NO-GO at once, and `VerdictGuard` sees the run to its end.
    Not in an xdist worker (the controller writes the reports), nor for `--help` and the
    like."""
    options = early_config.known_args_namespace
    if os.environ.get(XDIST_WORKER_ENV) or any(getattr(options, n, None) for n in INFORMATIONAL):
        return
    if not resolution.names_target(early_config, options=options):
        return
    from pytest_staging.gate import ExitCode  # a gated run's modules (see the docstring)
    from pytest_staging.run.verdict_guard import EARLY_NO_GO, VerdictGuard

    guard = VerdictGuard(
        resolution.report_path(early_config, options=options),
        resolution.report_path(early_config, name="summary_md", options=options),
    )
    early_config.pluginmanager.register(guard, GUARD_PLUGIN)
    guard.write(EARLY_NO_GO, ExitCode.NO_GO, {})


def pytest_configure(config: pytest.Config) -> None:
    for name, description in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {description}")
    if config.option.help:
        config.stash[SETTINGS_KEY] = StagingSettings()
        return
    try:
        settings = resolution.resolve(config)
        for name in settings.categories:
            if name not in MARKERS:
                config.addinivalue_line("markers", f"{name}: staging gate category (from ini).")
        if settings.suites:
            bundled_suites.add_to_run(config)
        if settings.active:
            settings = _activate(config, settings)
        else:
            _stand_down_guard(config)
    except pytest.UsageError as error:
        _report_usage_error(config, error)
        raise
    config.stash[SETTINGS_KEY] = settings


def _stand_down_guard(config: pytest.Config) -> None:
    """A manifest or environment was named, but it gives no URL: the run is not gated after
    all, and its reports say so instead of "did not finish"."""
    guard = config.pluginmanager.get_plugin(GUARD_PLUGIN)
    if guard is not None:
        from pytest_staging.gate import ExitCode  # a gated run's module (see the docstring)

        config.pluginmanager.unregister(guard)
        guard.write("no target URL was given, so the gate did not run", ExitCode.NO_GO, {})


def _report_usage_error(config: pytest.Config, error: pytest.UsageError) -> None:
    """Bad input never loses the reports: write a NO-GO that names the problem."""
    from pytest_staging.run.verdict_guard import publish_no_go  # (see the docstring)

    # A file that cannot be written is not reported: the usage error is what the user must see.
    publish_no_go(
        f"usage error: {error}",
        pytest.ExitCode.USAGE_ERROR,
        report=resolution.report_path(config),
        summary=resolution.report_path(config, name="summary_md"),
        environ=os.environ,
        interrupted=False,
    )


def _activate(config: pytest.Config, settings: StagingSettings) -> StagingSettings:
    """Point the run at its target and, on the controller, set up the gate."""
    from pytest_staging.http.target import StagingTarget  # a gated run's modules (docstring)
    from pytest_staging.phase_log import PHASE_LOG_KEY, PhaseLog
    from pytest_staging.report import baseline as baseline_report
    from pytest_staging.run.controller import CONTROLLER_PLUGIN, GateController
    from pytest_staging.run.masking import MASKING_PLUGIN, SecretMasking, configured_secrets
    from pytest_staging.run.report_data import REPORT_DATA_PLUGIN, ReportDataWriter

    # --staging-baseline: read on the controller only, once, before a demo starts
    baseline = None if is_worker(config) else baseline_report.from_option(settings.baseline)
    if is_worker(config):
        settings = dataclasses.replace(settings, url=worker_url(config) or settings.url)
    elif settings.demo is not None:
        settings = dataclasses.replace(settings, url=_start_demo(config, settings.demo))
    assert settings.url is not None
    target = StagingTarget.from_url(settings.url, settings.environment)
    redactor.register([*settings.secrets(), *target.secrets(), *configured_secrets(settings)])
    config.add_cleanup(redactor.clear)
    config.pluginmanager.register(SecretMasking(config), MASKING_PLUGIN)
    phase_log = config.stash[PHASE_LOG_KEY] = PhaseLog()
    writer = ReportDataWriter(settings.categories, phase_log)
    config.pluginmanager.register(writer, REPORT_DATA_PLUGIN)
    if not is_worker(config):
        controller = GateController(config, settings, target, baseline)
        config.pluginmanager.register(controller, CONTROLLER_PLUGIN)
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(XdistHooks(settings.url, controller), XDIST_PLUGIN)
        _register_html(config, controller)
    return settings


def _register_html(config: pytest.Config, controller: GateController) -> None:
    """Our pytest-html hooks exist only when pytest-html is loaded and writes a report."""
    if config.pluginmanager.hasplugin("html") and config.getoption("htmlpath", None):
        from pytest_staging.run.html_hooks import HTML_PLUGIN, HtmlHooks  # (see the docstring)

        config.pluginmanager.register(HtmlHooks(controller), HTML_PLUGIN)


def _start_demo(config: pytest.Config, mode: str) -> str:
    from pytest_staging.demo.modes import DemoOptions  # only with --staging-demo (docstring)
    from pytest_staging.demo.server import DemoServer, DemoStartError

    server = DemoServer(DemoOptions(mode=mode))
    try:
        url = server.start()
    except DemoStartError as exc:
        raise pytest.UsageError(f"--staging-demo={mode}: {exc}") from None
    config.add_cleanup(server.stop)
    return url


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """First, so a conftest's own order (the suites' `runs_last`) and pytest's `--ff` and
    `--nf` still apply after it."""
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is not None and settings.active:
        from pytest_staging.run.destructive import withhold_destructive  # (see the docstring)

        items.sort(key=_gate_order)
        withhold_destructive(items, settings)


def _gate_order(item: pytest.Item) -> tuple[bool, bool]:
    """Smoke tests first (critical ones first among them), then the other critical tests,
    then the rest, each group in collection order: a broken deployment shows at once, before
    a load test hammers it, and --staging-fail-fast stops before the rest. A stable sort on
    the collected items, so every xdist worker gets the same order."""
    return item.get_closest_marker(SMOKE) is None, item.get_closest_marker(CRITICAL) is None


def pytest_deselected(items: Sequence[pytest.Item]) -> None:
    """Counted in the process that collects: the controller's gate reads the count, or,
    under xdist, each worker's count once it finishes."""
    if items:
        stash = items[0].config.stash
        stash[DESELECTED_KEY] = stash.get(DESELECTED_KEY, 0) + len(items)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker hands its deselected count back to the controller (see `XdistHooks`)."""
    if is_worker(session.config):
        hand_back_deselected(session.config)
