"""The soak's state folder (`--state DIR`): everything a stopped soak needs to go on.

```
DIR/
  schedule.json            start, duration, every, pytest arguments, planned run times
  lock                     held while a soak works in DIR (a second one is refused)
  runs/NNN.json            run NNN's JSON gate report, as pytest wrote it
  runs/NNN.log             its terminal output
  runs/NNN.metrics.json    the target's metric series read after it
  runs/NNN.result.json     the record that makes run NNN finished (`records.RunRecord`)
  runs/NNN.attempt-T.*     files of a run still going (token T), renamed when it is done
  runs/NNN.running.json    process id of the run going on, to stop it if the soak was killed
  soak-summary.md / .html  the summary, rewritten after every run
```

Every file is written whole or not at all (a temporary file, then a rename). A run is
committed in this order: metrics, record, then its attempt files renamed to their final
names; a soak killed between the record and the renames rolls them forward when it resumes.
So a finished run's files are never rewritten, and an unfinished run's never look finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from pytest_staging.soak.records import RunRecord
from pytest_staging.soak.schedule import Schedule, ScheduleError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import datetime
    from pathlib import Path

SCHEDULE = "schedule.json"
SUMMARY = "soak-summary"
_RESULT = re.compile(r"^(\d{3,})\.result\.json$")
_ATTEMPT = re.compile(r"^(\d{3,})\.attempt-[0-9a-f]+\.(json|log)$")
_RUNNING = re.compile(r"^(\d{3,})\.running\.json$")
_RUN_FILE = re.compile(r"^(\d{3,})\.(json|log|metrics\.json)$")
"""A run's final files: present without its record, they are from a try that never finished."""


class StateError(Exception):
    """The state folder cannot be used; the message names the file and what to do."""


@dataclass(frozen=True)
class Attempt:
    """One try at a run: its token and the files it writes before it is committed."""

    run: int
    token: str
    report: Path
    log: Path


@dataclass(frozen=True)
class Leftover:
    """A run that was going when its soak was killed: its process may still be alive."""

    run: int
    pid: int
    token: str
    marker: Path


class SoakState:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs = root / "runs"

    def file(self, run: int, suffix: str) -> Path:
        """`runs/NNN<suffix>`, e.g. `file(2, ".json")` is `runs/002.json`."""
        return self.runs / f"{run:03d}{suffix}"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Create the folder and hold its lock; `StateError` if another soak holds it.
        The lock dies with the process, so a killed soak never blocks its resumption."""
        try:
            self.runs.mkdir(parents=True, exist_ok=True)
            stream = (self.root / "lock").open("a+", encoding="utf-8")
        except OSError as exc:
            raise StateError(f"cannot use --state {self.root}: {exc.strerror or exc}") from None
        with stream:
            _lock(stream, self.root)
            stream.seek(0)
            stream.truncate()
            stream.write(f"{os.getpid()}\n")
            stream.flush()
            yield

    def has_schedule(self) -> bool:
        return (self.root / SCHEDULE).is_file()

    def read_schedule(self) -> Schedule | None:
        document = self._read_json(self.root / SCHEDULE)
        if document is None:
            return None
        try:
            return Schedule.from_json(document)
        except ScheduleError as exc:
            raise StateError(f"{self.root / SCHEDULE}: {exc}; pass --restart") from None

    def write_schedule(self, schedule: Schedule) -> None:
        write_atomically(self.root / SCHEDULE, _dumps(schedule.to_json()))

    def records(self) -> dict[int, RunRecord]:
        """Every finished or missed run, with the renames of an interrupted commit done."""
        found = {}
        for path in sorted(self.runs.glob("*.result.json")):
            if not _RESULT.match(path.name):
                continue
            document = self._read_json(path)
            try:
                record = RunRecord.from_json(document)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StateError(f"{path}: not a soak run record ({exc}); pass --restart") from None
            self._roll_forward(record)
            found[record.run] = record
        return found

    def attempt(self, run: int) -> Attempt:
        token = secrets.token_hex(4)
        return Attempt(
            run=run,
            token=token,
            report=self.file(run, f".attempt-{token}.json"),
            log=self.file(run, f".attempt-{token}.log"),
        )

    def mark_running(self, attempt: Attempt, pid: int) -> Path:
        marker = self.file(attempt.run, ".running.json")
        write_atomically(marker, _dumps({"pid": pid, "token": attempt.token}))
        return marker

    def leftovers(self) -> list[Leftover]:
        """Runs that were going when a soak was killed (their `running` markers)."""
        found = []
        for path in sorted(self.runs.glob("*.running.json")):
            match = _RUNNING.match(path.name)
            if match is None:
                continue
            document = self._read_json(path, broken_ok=True)
            try:
                found.append(
                    Leftover(int(match[1]), int(document["pid"]), str(document["token"]), path)
                )
            except (KeyError, TypeError, ValueError):
                path.unlink(missing_ok=True)
        return found

    def discard_unfinished(self, finished: set[int]) -> list[Path]:
        """Delete the files of tries that never finished; the finished runs' stay."""
        removed = []
        for path in sorted(self.runs.iterdir()):
            run = _ATTEMPT.match(path.name) or _RUN_FILE.match(path.name)
            if (run and int(run[1]) not in finished) or path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    def commit(self, record: RunRecord, attempt: Attempt | None, metrics: Any = None) -> None:
        """Make the run finished (or missed): metrics, the record, then the renames."""
        if metrics is not None:
            write_atomically(self.file(record.run, ".metrics.json"), _dumps(metrics))
        result = self.file(record.run, ".result.json")
        if result.exists():
            raise StateError(f"{result} exists: run {record.run} is already done")
        write_atomically(result, _dumps(record.to_json()))
        if attempt is not None:
            self._roll_forward(record)

    def metrics(self, run: int) -> Any:
        return self._read_json(self.file(run, ".metrics.json"), broken_ok=True)

    def set_aside(self, now: datetime) -> Path:
        """Rename the whole folder out of the way (`--restart`): earlier runs are kept."""
        target = self.root.with_name(f"{self.root.name}-{now.strftime('%Y%m%dT%H%M%S')}")
        try:
            self.root.rename(target)
        except OSError as exc:
            problem = exc.strerror or exc
            raise StateError(f"cannot move {self.root} to {target}: {problem}") from None
        return target

    def _roll_forward(self, record: RunRecord) -> None:
        if record.attempt is None:
            return
        for suffix in (".json", ".log"):
            source = self.file(record.run, f".attempt-{record.attempt}{suffix}")
            if source.exists():
                source.replace(self.file(record.run, suffix))
        self.file(record.run, ".running.json").unlink(missing_ok=True)

    def _read_json(self, path: Path, *, broken_ok: bool = False) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            if broken_ok:
                return None
            raise StateError(f"{path} cannot be read: {exc}; pass --restart") from None


def write_atomically(path: Path, text: str) -> None:
    """`text` in `path`, whole or not at all."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise StateError(f"cannot write {path}: {exc.strerror or exc}") from None


def _dumps(document: Any) -> str:
    return json.dumps(document, indent=2) + "\n"


def _lock(stream: IO[str], root: Path) -> None:
    try:
        import fcntl
    except ImportError:  # not on POSIX: no lock, documented
        return
    try:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        stream.seek(0)
        holder = stream.read().strip() or "unknown"
        raise StateError(
            f"another soak (process {holder}) is using --state {root}: wait for it, stop it, "
            "or give another --state"
        ) from None
