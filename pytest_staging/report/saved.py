"""A JSON gate report read back from disk: checked against its schema, and what it says.

Used by `--staging-baseline` and by `pytest-staging gate` / `compare`. Every
problem is a `ReportFileError` whose message names the file and what is wrong
with it; the report is never trusted half-read. `SavedReport` is the report as
`pytest-staging gate` renders it: the verdict, reasons and category results the
run wrote, taken as written (nothing is recomputed or made up to fit a model of a
run that is not there: the saved tests, say, carry no evidence).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_staging import files, schemas
from pytest_staging.report.json_report import SCHEMA_ID
from pytest_staging.report.renderable import RequestTotals

if TYPE_CHECKING:
    from collections.abc import Mapping


class ReportFileError(Exception):
    """The file is not a readable, valid pytest-staging JSON report."""


def read(path: str | Path) -> dict[str, Any]:
    """The report at `path`, validated against the schema it names."""
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
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_ID:
        raise ReportFileError(
            f"{shown!r} is not a pytest-staging JSON report (schema {SCHEMA_ID}); "
            "pass a file written by --staging-report"
        )
    schema = schemas.load("report-v1")
    try:
        problem = next(iter(schemas.validator(schema).iter_errors(document)), None)
    except RecursionError:
        raise ReportFileError(f"{shown!r} is not a report: its JSON is nested too deeply") from None
    if problem is not None:
        where = schemas.error_path(problem, "slashes") or "the document"
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


@dataclass(frozen=True)
class SavedCounts:
    """A row of the saved gate table: a category's counts, or the totals."""

    name: str
    passed: int
    failed: int
    errors: int
    skipped: int
    xfailed: int
    threshold: float | None = None

    @property
    def pass_rate(self) -> float | None:
        """From the counts, as the run computed it (the saved `pass_rate` is rounded)."""
        executed = self.passed + self.failed + self.errors
        return None if executed == 0 else 100.0 * self.passed / executed


@dataclass(frozen=True)
class SavedCategory(SavedCounts):
    """A category as the run judged it: its result (`status`, `ok`) is the one it saved."""

    status: str = "not run"
    ok: bool | None = None
    min_tests: int = 0


@dataclass(frozen=True)
class SavedVerdict:
    """The verdict, its reasons and the category results as the run wrote them."""

    go: bool
    reasons: tuple[str, ...]
    categories: tuple[SavedCategory, ...]
    totals: SavedCounts
    critical_failures: tuple[str, ...] = ()
    flaky: tuple[str, ...] = ()
    tolerated: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return "GO" if self.go else "NO-GO"


@dataclass(frozen=True)
class SavedReport:
    """A saved run as `pytest-staging gate` renders it (see `renderable.Renderable`)."""

    verdict: SavedVerdict
    exit_code: int
    target_url: str | None
    environment: str
    service: str
    started_at: datetime
    duration_s: float
    insecure: bool
    requests: RequestTotals
    latency: Mapping[str, Mapping[str, Any]]
    load: tuple[Mapping[str, Any], ...]
    withheld: tuple[tuple[str, str], ...]

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> SavedReport:
        """The report `read` returned. Reports written before the selection, the request
        counts and the notes existed lack them: no request and no note, then."""
        audit, target = document["audit"], document["target"]
        requests = document.get("requests") or {}
        withheld = audit.get("destructive_withheld") or ()
        return cls(
            verdict=_verdict(document),
            exit_code=document["exit_code"],
            target_url=target["url"],
            environment=target["environment"],
            service=target.get("service") or "",
            started_at=datetime.fromisoformat(document["started_at"]),
            duration_s=document["duration_s"],
            insecure=not audit["tls_verification"],
            requests=RequestTotals(
                total=requests.get("total", 0),
                failed=requests.get("failed", 0),
                error_rate=requests.get("error_rate"),
                max_error_rate=requests.get("max_error_rate"),
            ),
            latency=document["latency"],
            load=tuple(document["load"]),
            withheld=tuple((entry["nodeid"], entry["reason"]) for entry in withheld),
        )


def _verdict(document: Mapping[str, Any]) -> SavedVerdict:
    totals = document["totals"]
    return SavedVerdict(
        go=document["verdict"] == "GO",
        reasons=tuple(document["reasons"]),
        categories=tuple(_category(name, saved) for name, saved in document["categories"].items()),
        totals=SavedCounts("total", *_counts(totals)),
        critical_failures=tuple(document["critical_failures"]),
        flaky=tuple(document["flaky"]),
        tolerated=tuple(document["tolerated_failures"]),
        notes=tuple(document.get("notes", ())),
    )


def _counts(saved: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    return saved["passed"], saved["failed"], saved["errors"], saved["skipped"], saved["xfailed"]


def _category(name: str, saved: Mapping[str, Any]) -> SavedCategory:
    return SavedCategory(
        name,
        *_counts(saved),
        threshold=saved["threshold"],
        status=saved["status"],
        ok=saved["ok"],
        min_tests=saved["min_tests"],
    )
