"""Reading the files a user names (the manifest, its schema files) without trusting them.

A path can name a FIFO, a device such as `/dev/zero` or a huge file by mistake: read whole,
it would hang the run or exhaust memory before any message could name it. Only regular
files are read, and only up to a documented size, so every such mistake is one clear line.
"""

from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

MAX_MANIFEST_BYTES = 1024 * 1024
"""A manifest of 2000 endpoints is about 300 KiB."""
MAX_SCHEMA_BYTES = 4 * 1024 * 1024


class FileRefused(ValueError):
    """The path names something that is not a readable file of a sensible size."""


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
