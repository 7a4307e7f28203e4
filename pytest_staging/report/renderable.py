"""What the terminal and Markdown renderers read of a run, finished now or saved earlier.

A `FinishedRun` (the run that just ended) and a `SavedReport` (a JSON report
read back by `pytest-staging gate`) both provide it, each from what it truly
knows: the finished run from its verdict and snapshot, the saved report from
the fields the run wrote. Neither is dressed up as the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime


class Counts(Protocol):
    """A row of the gate table: a category's counts (or the totals) and its threshold."""

    @property
    def name(self) -> str: ...
    @property
    def passed(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def errors(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def xfailed(self) -> int: ...
    @property
    def threshold(self) -> float | None: ...
    @property
    def pass_rate(self) -> float | None: ...


class Category(Counts, Protocol):
    """A category's row with its result: OK, FAIL, not run or not gated."""

    @property
    def status(self) -> str: ...


class RenderableVerdict(Protocol):
    """The verdict as the reports word it: GO or NO-GO, why, and what it leaves out."""

    @property
    def go(self) -> bool: ...
    @property
    def label(self) -> str: ...
    @property
    def reasons(self) -> tuple[str, ...]: ...
    @property
    def notes(self) -> tuple[str, ...]: ...
    @property
    def categories(self) -> Sequence[Category]: ...
    @property
    def totals(self) -> Counts: ...
    @property
    def tolerated(self) -> tuple[str, ...]: ...
    @property
    def flaky(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class RequestTotals:
    """Every request of the run (each attempt), the failed ones and the limit on their rate:
    the JSON report's `requests` section."""

    total: int = 0
    failed: int = 0
    error_rate: float | None = None
    """Percent of the requests that failed; None when no request was sent."""
    max_error_rate: float | None = None
    """The limit on `error_rate` (`max_error_rate`); None when none is set."""


class Renderable(Protocol):
    """A run as the terminal table and the Markdown summary show it."""

    @property
    def verdict(self) -> RenderableVerdict: ...
    @property
    def exit_code(self) -> int: ...
    @property
    def target_url(self) -> str | None: ...
    @property
    def environment(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def insecure(self) -> bool: ...
    @property
    def requests(self) -> RequestTotals: ...
    @property
    def latency(self) -> Mapping[str, Mapping[str, Any]]: ...
    @property
    def load(self) -> Sequence[Mapping[str, Any]]: ...
    @property
    def withheld(self) -> Sequence[tuple[str, str]]: ...
