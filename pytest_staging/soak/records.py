"""What the soak keeps about each run: `runs/NNN.result.json`, written once when the run is done.

A run is finished when its record exists, and only then: a run stopped half-way leaves no
record, so a resumed soak makes it again. A missed run (its time passed while the soak was
stopped or an earlier run overran) gets a record too, so it is listed, not forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

SCHEMA = "pytest-staging/soak-run/v1"
Status = Literal["finished", "missed"]


@dataclass(frozen=True)
class RunRecord:
    run: int
    status: Status
    planned_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    exit_code: int | None = None
    timed_out: bool = False
    has_report: bool = False
    """A valid JSON gate report of the run is kept in `runs/NNN.json`."""
    problem: str | None = None
    """Why the run left no valid report, or why it was missed."""
    attempt: str | None = None
    """The token of the attempt whose files became the run's files."""

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "run": self.run,
            "status": self.status,
            "planned_at": self.planned_at.isoformat(),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "exit_code": self.exit_code,
            "timed_out": self.timed_out,
            "has_report": self.has_report,
            "problem": self.problem,
            "attempt": self.attempt,
        }

    @classmethod
    def from_json(cls, document: Any) -> RunRecord:
        """The record in `document`; `ValueError` (or `KeyError`, `TypeError`) if it is none."""
        if document.get("schema") != SCHEMA or document["status"] not in ("finished", "missed"):
            raise ValueError(f"not a soak run record (schema {SCHEMA})")
        return cls(
            run=int(document["run"]),
            status=document["status"],
            planned_at=datetime.fromisoformat(document["planned_at"]),
            started_at=_datetime(document["started_at"]),
            finished_at=_datetime(document["finished_at"]),
            exit_code=document["exit_code"],
            timed_out=bool(document["timed_out"]),
            has_report=bool(document["has_report"]),
            problem=document["problem"],
            attempt=document["attempt"],
        )

    @property
    def took_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
