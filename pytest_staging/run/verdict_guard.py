"""A gated run never ends with an earlier GO on disk, nor exits 0 without the gate's verdict.

The NO-GO written without a verdict has one path, `publish_no_go`: the guard writes it
before the first conftest is imported and when pytest returns without a verdict; the
controller writes it again when the gate starts (the provisional NO-GO that a killed run
leaves behind); the plugin writes it for a usage error found at start.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import pytest

from pytest_staging import gate
from pytest_staging.report import json_report, markdown
from pytest_staging.report.finished_run import finished_early

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping
    from pathlib import Path

    from pytest_staging.http.target import StagingTarget

CONTROLLER_PLUGIN = "staging-controller"
"""The name the controller registers under: the guard asks it for the verdict and target."""
NO_TEST_RUN_MODES = (
    ("collectonly", "--collect-only"),
    ("setuponly", "--setup-only"),
    ("setupplan", "--setup-plan"),
)
"""pytest's options that run no test body: such a run has no gate and keeps its exit status."""
EARLY_NO_GO = (
    "the gate did not start: pytest stopped first (see its error, e.g. a conftest that failed "
    "to import or an unknown option), or the run was killed"
)
"""The reason of the NO-GO a gated run writes before its first conftest is imported."""


def publish_no_go(
    reason: str,
    exit_code: int,
    *,
    report: Path | None,
    summary: Path | None = None,
    environ: Mapping[str, str] | None = None,
    target: StagingTarget | None = None,
    interrupted: bool = True,
) -> list[str]:
    """Write a NO-GO that no verdict backs to the JSON `report` and the Markdown `summary`,
    and GitHub's job summary when `environ` names one; returns a message for each file that
    could not be written. `interrupted`: the gate did not decide (every caller but a usage
    error at start, which is the run's whole answer)."""
    run = finished_early(
        reason,
        exit_code=exit_code,
        target_url=target.url if target else None,
        environment=target.environment if target else "unknown",
        interrupted=interrupted,
    )
    return [*markdown.publish(run, summary, environ or {}), *json_report.publish(run, report)]


class VerdictGuard:
    """A gated run from the moment its options are known until pytest returns.

    Registered before the first conftest is imported, it replaces the reports with a NO-GO
    at once, so a run that pytest ends before the gate starts (a conftest that fails to
    import, an unknown option) never leaves an earlier GO behind. When pytest returns
    without the gate's verdict (a conftest's `pytest.exit()` in `pytest_configure` or
    `pytest_sessionstart`, `--collect-only`), the reports say why, and the run never exits
    0, except in the modes that run no test body (`NO_TEST_RUN_MODES`), which keep theirs.
    """

    def __init__(self, report: Path | None, summary: Path | None) -> None:
        self._report = report
        self._summary = summary
        self._exit: str | None = None
        """The message of the `pytest.exit()` that ended the run, if one did."""

    def write(
        self,
        reason: str,
        exit_code: int,
        environ: Mapping[str, str],
        target: StagingTarget | None = None,
    ) -> None:
        """The NO-GO reports; `environ` without GitHub's variable writes no job summary."""
        problems = publish_no_go(
            reason,
            exit_code,
            report=self._report,
            summary=self._summary,
            environ=environ,
            target=target,
        )
        for problem in problems:
            sys.stderr.write(f"{problem}\n")

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        if isinstance(excinfo.value, pytest.exit.Exception):
            self._exit = excinfo.value.msg

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_cmdline_main(self, config: pytest.Config) -> Generator[None, int, int]:
        status = yield
        controller = config.pluginmanager.get_plugin(CONTROLLER_PLUGIN)
        if controller is not None and controller.finished_run is not None:
            return status
        target = controller.target if controller is not None else None
        mode = next((flag for name, flag in NO_TEST_RUN_MODES if config.getoption(name)), None)
        if mode is not None:
            reason = f"{mode} runs no test: the gate did not decide"
            self.write(reason, gate.ExitCode.NO_GO, {}, target)
            return status
        code = int(status) or gate.ExitCode.NO_GO
        if self._exit is not None:
            reason = f"pytest.exit() ended the run before the gate could decide: {self._exit}"
        else:
            reason = f"the run ended before the gate could decide (pytest exit status {status})"
        self.write(reason, code, os.environ, target)
        return code
