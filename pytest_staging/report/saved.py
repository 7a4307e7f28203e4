"""A JSON gate report read back from disk: checked against its schema, and as an outcome.

Used by `--staging-baseline` and by `pytest-staging gate` / `compare`. Every
problem is a `ReportFileError` whose message names the file and what is wrong
with it; the report is never trusted half-read.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_staging import files

if TYPE_CHECKING:
    from pytest_staging.gate import CategoryResult
    from pytest_staging.report.finished_run import FinishedRun


class ReportFileError(Exception):
    """The file is not a readable, valid pytest-staging JSON report."""


def read(path: str | Path) -> dict[str, Any]:
    """The report at `path`, validated against the schema it names."""
    from jsonschema.validators import validator_for

    from pytest_staging import schemas
    from pytest_staging.report import json_report

    shown = str(path)
    try:
        data = files.read_bytes(Path(path).expanduser(), files.MAX_REPORT_BYTES)
    except RuntimeError:  # ~user that does not exist
        raise ReportFileError(f"{shown!r} cannot be read: cannot expand '~' in this path") from None
    except files.READ_ERRORS as exc:
        raise ReportFileError(f"{shown!r} cannot be read: {files.unreadable(exc)}") from None
    try:
        document = json.loads(data.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError too
        raise ReportFileError(f"{shown!r} is not JSON: {exc}") from None
    except RecursionError:
        raise ReportFileError(f"{shown!r} is not a report: its JSON is nested too deeply") from None
    if not isinstance(document, dict) or document.get("schema") != json_report.SCHEMA_ID:
        raise ReportFileError(
            f"{shown!r} is not a pytest-staging JSON report (schema {json_report.SCHEMA_ID}); "
            "pass a file written by --staging-report"
        )
    schema = schemas.load("report-v1")
    try:
        problem = next(iter(validator_for(schema)(schema).iter_errors(document)), None)
    except RecursionError:
        raise ReportFileError(f"{shown!r} is not a report: its JSON is nested too deeply") from None
    if problem is not None:
        where = "/".join(str(part) for part in problem.absolute_path) or "the document"
        raise ReportFileError(f"{shown!r} is not a valid report: {where}: {problem.message}")
    try:  # the schema's date-time format is not checked by jsonschema without extra packages
        datetime.fromisoformat(document["started_at"])
    except ValueError:
        raise ReportFileError(
            f"{shown!r} is not a valid report: started_at: "
            f"{document['started_at']!r} is not an ISO 8601 date-time"
        ) from None
    _check_exit_code(document, shown)
    return document


def _check_exit_code(document: dict[str, Any], shown: str) -> None:
    """A report is GO exactly when its exit code is 0: one that says otherwise was not
    written whole by one run (edited, or pieced together), and its verdict is not trusted."""
    go, code = document["verdict"] == "GO", document["exit_code"]
    if go != (code == 0):
        raise ReportFileError(
            f"{shown!r} contradicts itself: verdict {document['verdict']} with exit code "
            f"{code} (a GO is exit code 0, a NO-GO never is); it was not written whole by one "
            "run: run the gate again"
        )


def _category(name: str, saved: dict[str, Any], explicit: set[str]) -> CategoryResult:
    """The category as the run computed it. A failure the counts do not explain came from a
    broken limit (the report keeps those in its reasons), so it is restored as one."""
    from pytest_staging.gate import CategoryResult

    result = CategoryResult(
        name=name,
        passed=saved["passed"],
        failed=saved["failed"],
        errors=saved["errors"],
        skipped=saved["skipped"],
        xfailed=saved["xfailed"],
        threshold=saved.get("threshold"),
        required=name in explicit,
        min_tests=saved.get("min_tests") or 0,
    )
    if saved.get("ok") is False and result.ok is not False:
        return dataclasses.replace(result, breaches=("see the reasons",))
    return result


def outcome(document: dict[str, Any]) -> FinishedRun:
    """The saved run as the terminal and Markdown reports render it."""
    from pytest_staging.gate import RunSnapshot, Verdict
    from pytest_staging.report.finished_run import FinishedRun

    audit = document["audit"]
    # Reports written before the selection, the request counts and the notes existed lack them.
    requests = document.get("requests") or {}
    selection = document.get("selection") or {}
    explicit = set(audit["explicit_thresholds"])
    categories = tuple(
        _category(name, saved, explicit) for name, saved in document["categories"].items()
    )
    verdict = Verdict(
        go=document["verdict"] == "GO",
        reasons=tuple(document["reasons"]),
        categories=categories,
        totals=_category("total", {**document["totals"], "ok": None}, set()),
        critical_failures=tuple(document["critical_failures"]),
        flaky=tuple(document["flaky"]),
        tolerated=tuple(document["tolerated_failures"]),
        notes=tuple(document.get("notes", ())),
        error_rate=requests.get("error_rate"),
    )
    snapshot = RunSnapshot(
        tests=(),
        thresholds=audit["thresholds"],
        explicit=frozenset(explicit),
        interrupted=document["interrupted"],
        requests=requests.get("total", 0),
        failed_requests=requests.get("failed", 0),
        max_error_rate=requests.get("max_error_rate"),
        deselected=selection.get("deselected", 0),
        selection=tuple(selection.get("options", ())),
        allow_partial=selection.get("allow_partial", True),
        rerun_selection=selection.get("rerun"),
        fail_fast=document.get("fail_fast"),
    )
    withheld = audit.get("destructive_withheld") or ()
    return FinishedRun(
        verdict=verdict,
        snapshot=snapshot,
        exit_code=document["exit_code"],
        target_url=document["target"]["url"],
        environment=document["target"]["environment"],
        service=document["target"].get("service") or "",
        started_at=datetime.fromisoformat(document["started_at"]),
        duration_s=document["duration_s"],
        latency=document["latency"],
        load=tuple(document["load"]),
        insecure=not audit["tls_verification"],
        withheld=tuple((entry["nodeid"], entry["reason"]) for entry in withheld),
    )
