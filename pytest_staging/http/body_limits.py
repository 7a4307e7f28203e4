"""An answer's body held to --staging-max-body, measured as the test will read it: decompressed.

A decompression bomb (10 MB of gzip that inflate to 10 GB) or a runaway stream stops at
the limit with `BodyTooLarge`, before httpx has inflated or kept more than it. The client
asks (Accept-Encoding) only for the encodings measured here, so every body it decodes was
measured first.
"""

from __future__ import annotations

import functools
import zlib
from typing import TYPE_CHECKING, Any

import httpx

try:
    import brotli  # type: ignore[import-untyped]  # it ships no type information
except ImportError:  # optional (httpx decodes br only with it): br is then not asked for
    brotli = None

from pytest_staging.settings.defaults import MAX_BODY_BYTES

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pytest_staging.settings.resolution import StagingSettings

_METER_STEP = 256 * 1024
"""The most a body's meter inflates at once: it never holds more than this."""


class BodyTooLarge(httpx.RequestError):
    """An answer's body is larger than --staging-max-body once decompressed."""


def max_body_bytes(settings: StagingSettings) -> int:
    """--staging-max-body, in bytes (`defaults.MAX_BODY_BYTES` unless given)."""
    return MAX_BODY_BYTES if settings.max_body is None else settings.max_body


class _Inflater:
    """gzip or deflate (zlib, or raw as some servers send it, like httpx), inflated a step at
    a time."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding == "gzip"
        self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS)
        self._first = not self._gzip

    def pieces(self, data: bytes) -> Iterator[bytes]:
        while data:
            try:
                piece = self._inflate.decompress(data, _METER_STEP)
            except zlib.error:
                if not self._first:
                    raise
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                piece = self._inflate.decompress(data, _METER_STEP)
            self._first = False
            yield piece
            data = self._inflate.unconsumed_tail


class _Unbrotli:
    """br, a step at a time."""

    def __init__(self, brotli: Any) -> None:
        self._decompress = brotli.Decompressor()

    def pieces(self, data: bytes) -> Iterator[bytes]:
        yield self._decompress.process(data, output_buffer_limit=_METER_STEP)
        while not self._decompress.can_accept_more_data():
            yield self._decompress.process(b"", output_buffer_limit=_METER_STEP)


def _brotli() -> Any:
    """The `brotli` module httpx decodes br with, if it can inflate in bounded steps (1.1+)."""
    if brotli is None or not hasattr(brotli.Decompressor, "can_accept_more_data"):
        return None
    return brotli


@functools.cache
def _meterable() -> dict[str, Callable[[str], Any]]:
    """The encodings the meter can inflate in bounded steps, which are the ones the client
    asks for in Accept-Encoding."""
    stages: dict[str, Callable[[str], Any]] = {"gzip": _Inflater, "deflate": _Inflater}
    brotli = _brotli()
    if brotli is not None:
        stages["br"] = lambda _: _Unbrotli(brotli)
    return stages


def accept_encoding() -> str:
    """What the client asks for: only the encodings the body meter can measure."""
    return ", ".join(_meterable())


class BodyMeter:
    """Counts a body's size as the test will read it, decompressed, without keeping it.

    Each raw chunk is measured before httpx decodes it, so httpx never inflates more than
    the limit. An encoding the meter cannot inflate is counted as received (httpx does not
    decode it either: Accept-Encoding asks only for the meterable ones); a body that does
    not inflate is left to httpx, whose DecodingError says so."""

    def __init__(self, response: httpx.Response, request: httpx.Request, limit: int) -> None:
        stages = _meterable()
        encodings = [
            name.strip().lower()
            for name in response.headers.get_list("content-encoding", split_commas=True)
        ]
        self._stages = [stages[name](name) for name in reversed(encodings) if name in stages]
        self._request = request
        self._limit = limit
        self._size = 0
        self._broken = False

    def add(self, chunk: bytes) -> None:
        """Count `chunk`; BodyTooLarge once the body is over the limit."""
        if self._broken:
            return
        try:
            for piece in self._inflated(chunk, 0):
                self._size += len(piece)
                if self._size > self._limit:
                    raise self._too_large()
        except BodyTooLarge:
            raise
        except Exception:  # zlib.error, brotli.error: httpx's DecodingError will say so
            self._broken = True

    def _inflated(self, data: bytes, stage: int) -> Iterator[bytes]:
        if stage == len(self._stages):
            yield data
            return
        for piece in self._stages[stage].pieces(data):
            yield from self._inflated(piece, stage + 1)

    def _too_large(self) -> BodyTooLarge:
        over = f"the body is over {_size(self._limit)}"
        if self._stages:
            over += " decompressed (--staging-max-body): a decompression bomb?"
        else:
            over += " (--staging-max-body):"
        return BodyTooLarge(
            f"{over} if the answer is meant to be this large, raise the limit",
            request=self._request,
        )


def _size(count: int) -> str:
    mib = count / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{count} bytes"
