"""The JSON gate report (`--staging-report`): versioned, schema-described, written atomically."""

from __future__ import annotations

import json
import platform
import uuid
from functools import cache
from importlib import metadata
from typing import TYPE_CHECKING, Any

from pytest_staging import files
from pytest_staging.redaction import redactor

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_staging.gate import CategoryResult
    from pytest_staging.report.finished_run import FinishedRun

SCHEMA_ID = "pytest-staging/report/v1"
REPORT_FILE_MODE = 0o644
"""Readable by CI artifact uploaders, like junit.xml."""
_TOOLS = ("pytest", "pytest-xdist", "pytest-html", "httpx", "tenacity", "jsonschema", "locust")


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@cache
def tool_versions() -> dict[str, str]:
    versions = {name: _version(name) for name in ("pytest-staging", *_TOOLS)}
    found = {name: version for name, version in versions.items() if version is not None}
    return {"python": platform.python_version(), **found}


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _counts(result: CategoryResult) -> dict[str, Any]:
    return {
        "passed": result.passed,
        "failed": result.failed,
        "errors": result.errors,
        "skipped": result.skipped,
        "xfailed": result.xfailed,
        "pass_rate": _rate(result.pass_rate),
    }


def _category(result: CategoryResult) -> dict[str, Any]:
    return {
        **_counts(result),
        "threshold": result.threshold,
        "ok": result.ok,
        "status": result.status,
        "min_tests": result.min_tests,
    }


def audit(run: FinishedRun) -> dict[str, Any]:
    readiness = run.readiness
    last = readiness.last if readiness else None
    return {
        "resolved_address": last.address if last else None,
        "deployed_version": last.version if last else None,
        "tls_certificate_expiry": run.tls_expiry.isoformat() if run.tls_expiry else None,
        "tls_verification": not run.insecure,
        "thresholds": dict(run.snapshot.thresholds),
        "explicit_thresholds": sorted(run.snapshot.explicit),
        "readiness": None
        if readiness is None
        else {
            "ready": readiness.ready,
            "attempts": readiness.attempts,
            "last_status": readiness.last.status,
            "reason": readiness.reason,
        },
        "tool_versions": tool_versions(),
        "destructive_withheld": [{"nodeid": nodeid, "reason": why} for nodeid, why in run.withheld],
    }


def selection(run: FinishedRun) -> dict[str, Any]:
    """How the user narrowed the run, and how many tests that left out."""
    snapshot = run.snapshot
    return {
        "deselected": snapshot.deselected,
        "options": list(snapshot.selection),
        "rerun": snapshot.rerun_selection,
        "allow_partial": snapshot.allow_partial,
    }


def requests(run: FinishedRun) -> dict[str, Any]:
    """Every request of the run (each attempt), the failed ones and the limit on their rate."""
    totals = run.requests
    return {
        "total": totals.total,
        "failed": totals.failed,
        "error_rate": _rate(totals.error_rate),
        "max_error_rate": totals.max_error_rate,
    }


def build(run: FinishedRun) -> dict[str, Any]:
    """The report document for `run`, ready for `json.dumps`."""
    verdict = run.verdict
    return {
        "schema": SCHEMA_ID,
        "plugin_version": _version("pytest-staging") or "unknown",
        "verdict": verdict.label,
        "exit_code": int(run.exit_code),
        "reasons": list(verdict.reasons),
        "interrupted": run.snapshot.interrupted,
        "target": {
            "url": run.target_url,
            "environment": run.environment,
            "service": run.service or None,
        },
        "started_at": run.started_at.isoformat(),
        "duration_s": round(run.duration_s, 3),
        "totals": _counts(verdict.totals),
        "categories": {result.name: _category(result) for result in verdict.categories},
        "critical_failures": list(verdict.critical_failures),
        "flaky": list(verdict.flaky),
        "tolerated_failures": list(verdict.tolerated),
        "notes": list(verdict.notes),
        "selection": selection(run),
        "requests": requests(run),
        "fail_fast": run.snapshot.fail_fast,
        "tests": [
            {
                "nodeid": test.nodeid,
                "outcome": test.outcome,
                "categories": list(test.categories),
                "critical": test.critical,
                "duration_s": test.duration_s,
                "flaky": test.flaky,
                "requests": run.requests_by_test.get(test.nodeid, 0),
                **({"cause": test.cause} if test.cause else {}),
            }
            for test in run.snapshot.tests
        ],
        "latency": {name: dict(stats) for name, stats in run.latency.items()},
        "load": [dict(load) for load in run.load],
        "audit": audit(run),
    }


def _redacted(value: Any) -> Any:
    """Mask secrets in every string before serialising (escaping would hide them after)."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def _dumps(document: dict[str, Any]) -> str:
    """Indented for people, with one line per test: the indenting encoder is pure Python
    and took most of the report's time at 10 000 tests; one line each keeps diffs useful."""
    tests = document.get("tests")
    if not tests:
        return json.dumps(document, indent=2, ensure_ascii=False)
    placeholder = f"tests-{uuid.uuid4().hex}"
    text = json.dumps({**document, "tests": placeholder}, indent=2, ensure_ascii=False)
    lines = ",\n".join(f"    {json.dumps(test, ensure_ascii=False)}" for test in tests)
    return text.replace(f'"{placeholder}"', f"[\n{lines}\n  ]", 1)


def publish(run: FinishedRun, path: Path | None) -> list[str]:
    """Write the report of `run` to `path`, if one is given; returns the message for a
    file that could not be written (as `markdown.publish` does for the summaries)."""
    if path is None:
        return []
    try:
        write(path, build(run))
    except OSError as exc:
        return [f"staging: could not write --staging-report {path}: {exc.strerror or exc}"]
    return []


def write(path: Path, document: dict[str, Any]) -> None:
    """Write `document` to `path`, secrets masked (see `files.write_text`: atomic for a
    file, through for a device or FIFO, a symlink followed)."""
    files.write_text(path, _dumps(_redacted(document)) + "\n", mode=REPORT_FILE_MODE)
