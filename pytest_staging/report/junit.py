"""The verdict and per-category rates as `<testsuite>` properties of pytest's JUnit XML.

Added by the controller before pytest's junitxml plugin writes its file, so it
works under xdist, where `record_testsuite_property` (a fixture, run on the
workers) does not reach the controller's file. Testsuite properties are valid
in both JUnit families; per-test properties are not valid in `xunit2`, so
nothing is added per test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from _pytest.junitxml import xml_key  # the writer has no public handle; stable since 7.0

from pytest_staging.gate import percent_or_dash
from pytest_staging.redaction import redactor

if TYPE_CHECKING:
    import pytest

    from pytest_staging.report.finished_run import FinishedRun

PREFIX = "staging_"


def properties(run: FinishedRun) -> list[tuple[str, str]]:
    """(name, value) pairs: verdict, exit code, target, reasons, notes, the error rate when
    it is limited, then three per category."""
    verdict = run.verdict
    found = [
        ("verdict", verdict.label),
        ("exit_code", str(run.exit_code)),
        ("target", run.target_url or "no target"),
        ("environment", run.environment),
    ]
    found += [(f"reason_{number}", reason) for number, reason in enumerate(verdict.reasons, 1)]
    found += [(f"note_{number}", note) for number, note in enumerate(verdict.notes, 1)]
    limit = run.snapshot.max_error_rate
    if limit is not None:
        found += [
            ("error_rate", percent_or_dash(verdict.error_rate, limit, fails_above=True)),
            ("max_error_rate", percent_or_dash(limit)),
        ]
    rows = [(result, result.status) for result in verdict.categories]
    for result, status in [*rows, (verdict.totals, verdict.label)]:
        found += [
            (f"{result.name}_pass_rate", percent_or_dash(result.pass_rate, result.threshold)),
            (f"{result.name}_threshold", percent_or_dash(result.threshold)),
            (f"{result.name}_result", status),
        ]
    return [(PREFIX + name, redactor.redact(value)) for name, value in found]


def record(config: pytest.Config, run: FinishedRun) -> None:
    """Hand the properties to pytest's JUnit writer when `--junitxml` is active."""
    writer = config.stash.get(xml_key, None)
    if writer is None:
        return
    for name, value in properties(run):
        writer.add_global_property(name, value)
