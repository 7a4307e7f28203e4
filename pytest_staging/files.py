"""Reading the files a user names (the manifest, its schema files, saved reports) without
trusting them, and writing the reports a user names without replacing what is not a file.

A path can name a FIFO, a device such as `/dev/zero` or a huge file by mistake: read whole,
it would hang the run or exhaust memory before any message could name it. Only regular
files are read, and only up to a documented size, so every such mistake is one clear line.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

MAX_MANIFEST_BYTES = 1024 * 1024
"""A manifest of 2000 endpoints is about 300 KiB."""
MAX_SCHEMA_BYTES = 4 * 1024 * 1024
MAX_REPORT_BYTES = 64 * 1024 * 1024
"""A saved JSON gate report (`--staging-baseline`, `pytest-staging gate` / `compare`): a run
of 10 000 tests writes about 3 MiB, so this leaves room for runs twenty times larger."""


class FileRefused(ValueError):
    """The path names something that is not a readable file of a sensible size."""


READ_ERRORS = (OSError, FileRefused)
"""What `read_bytes` raises: the system's refusal, or ours."""


def unreadable(error: OSError | FileRefused) -> str:
    """Why a path could not be read, as every message shows it: the system's words for an
    OS error (`No such file or directory`), ours for a refused file."""
    return (error.strerror or str(error)) if isinstance(error, OSError) else str(error)


_KINDS = {
    stat.S_ISDIR: "a directory",
    stat.S_ISFIFO: "a FIFO",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


def read_bytes(path: Path, limit: int) -> bytes:
    """The whole file, or `FileRefused` / `OSError` saying why not; never blocks on a FIFO
    (opened non-blocking, then refused by its kind) and never reads more than `limit` + 1."""
    handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(handle).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS.items() if test(mode)), "not a file")
            raise FileRefused(f"it is {kind}, not a regular file: name a file")
        chunks: list[bytes] = []
        size = 0
        while size <= limit and (chunk := os.read(handle, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(handle)
    data = b"".join(chunks)
    if len(data) > limit:
        raise FileRefused(f"it is larger than {limit // 1024} KiB, the most that is read")
    return data


def write_text(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Write a report to `path`; parent folders are created.

    A symlink is followed: its target is written and the link stays. A regular file (or a
    new one) is replaced atomically with permissions `mode` (mkstemp alone leaves 0600), so
    a reader never sees half a report. Anything else (`/dev/stdout`, a FIFO, a device) is
    written through: renaming a file over it would turn `/dev/stdout` into a regular file."""
    target = Path(os.path.realpath(path))
    try:
        kind: int | None = target.stat().st_mode
    except FileNotFoundError:
        kind = None
    if kind is not None and not stat.S_ISREG(kind):
        _write_through(target, text)
    else:
        _replace(target, text, mode)


def _write_through(path: Path, text: str) -> None:
    """Into an existing device or FIFO, never replacing it. A FIFO no process reads is
    refused instead of blocking the run; once open, writes wait for the reader."""
    try:
        handle = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno != errno.ENXIO:
            raise
        raise OSError(errno.ENXIO, "it is a FIFO that no process reads") from None
    os.set_blocking(handle, True)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        stream.write(text)


def _replace(path: Path, text: str, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        Path(temporary).chmod(mode)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
