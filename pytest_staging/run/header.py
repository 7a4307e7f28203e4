"""What a gated run says about itself before its tests: pytest's header and collection lines.

The target, the thresholds in force, how the user narrowed the run, TLS verification
turned off, and whether destructive tests may run: read at the top of a CI log, before
any result, so a wrong target or a forgotten option shows at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_staging import gate
from pytest_staging.report.terminal import INSECURE_WARNING
from pytest_staging.run import destructive

if TYPE_CHECKING:
    import pytest

    from pytest_staging.http.target import StagingTarget
    from pytest_staging.settings.resolution import StagingSettings


def header_lines(settings: StagingSettings, target: StagingTarget) -> list[str]:
    """pytest's report header: target, thresholds, selection, TLS and the destructive guard."""
    thresholds = " ".join(
        f"{name}={gate.percent(value)}" for name, value in settings.thresholds().items()
    )
    lines = [f"staging target: {target.url} (environment {target.environment})"]
    if settings.max_error_rate is not None:
        thresholds += f" max_error_rate={gate.percent(settings.max_error_rate)}"
    lines.append(f"staging gate thresholds: {thresholds}")
    lines.extend(_selection_lines(settings))
    if settings.insecure:
        lines.append(INSECURE_WARNING)
    why = destructive.withheld_why(settings)
    lines.append(f"staging destructive tests: {'withheld: ' + why if why else 'allowed'}")
    return lines


def collection_lines(items: list[pytest.Item], deselected: int) -> list[str]:
    """Under "collected N items": the destructive tests withheld, the tests deselected."""
    withheld = sum(1 for item in items if destructive.withheld_reason_of(item) is not None)
    lines = [f"staging: {withheld} destructive test(s) withheld"] if withheld else []
    if deselected:
        lines.append(
            f"staging: partial run: {deselected} of {deselected + len(items)} tests deselected"
        )
    return lines


def _selection_lines(settings: StagingSettings) -> list[str]:
    """The header's word on how the user narrowed the run, and what that means for the gate."""
    selection = settings.selection
    if not selection.narrowing:
        return []
    shown = " ".join(selection.narrowing)
    if selection.rerun:
        meaning = f"{selection.rerun} chooses the tests by an earlier run's results: no GO"
    elif settings.allow_partial:
        meaning = "a partial run is noted (allow_partial = false makes it NO-GO)"
    else:
        meaning = "a partial run is NO-GO (allow_partial = false)"
    return [f"staging selection: {shown}: {meaning}"]
