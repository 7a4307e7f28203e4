"""The whole exchange's deadline: connect, headers and body, every byte within one time.

httpx's timeouts bound each wait (a connect, one read), never the whole exchange: a
target that drips its headers or body a byte at a time, each within the timeout, holds a
request for ever. Here every wait of a request is cut to the time its deadline leaves.

The deadline of the request a thread is sending or reading is kept per thread (httpx's
sync client does every read of a request in the thread that made it); the timed transport
(`transports.TimedTransport`) sets it around each read, and `DeadlineBackend`, through
which the client's connection pool reads and writes, holds each wait to it.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpcore

from pytest_staging.settings.defaults import DEADLINE_TIMEOUTS

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable, Generator, Iterable

    import httpx

    from pytest_staging.settings.resolution import StagingSettings

DEADLINE_EXTENSION = "pytest_staging.deadline"
"""A request extension holding its `Deadline`, set by `TimedTransport` unless the caller did
(the readiness probe gives each attempt its share of --staging-wait)."""


@dataclass(frozen=True)
class Deadline:
    """How long a request's whole exchange may take (connect, headers, body), and the option
    a failure names."""

    seconds: float
    option: str = "--staging-request-deadline"


class DeadlinePassed(httpcore.ReadTimeout):
    """A read, write or connect found the request's deadline passed; httpx raises it as its
    `ReadTimeout` (`failure_line` tells it from httpx's own by this cause)."""


_current = threading.local()
"""The deadline (`ends`, `clock`) of the request this thread is sending or reading, if any."""


def request_deadline(settings: StagingSettings) -> float:
    """--staging-request-deadline, by default `DEADLINE_TIMEOUTS` times --staging-timeout."""
    if settings.request_deadline is not None:
        return settings.request_deadline
    return DEADLINE_TIMEOUTS * settings.timeout


@contextlib.contextmanager
def bounded(ends: float, clock: Callable[[], float]) -> Generator[None]:
    """Every network wait of this thread, inside the block, ends by `ends`."""
    previous = getattr(_current, "deadline", None)
    _current.deadline = (ends, clock)
    try:
        yield
    finally:
        _current.deadline = previous


def _left() -> float | None:
    """The seconds the current request has left (none: it has no deadline)."""
    deadline = getattr(_current, "deadline", None)
    if deadline is None:
        return None
    ends, clock = deadline
    left: float = ends - clock()
    return left


def _within(timeout: float | None) -> float | None:
    """`timeout` cut to the time the current request has left; DeadlinePassed at none."""
    left = _left()
    if left is None:
        return timeout
    if left <= 0:
        raise DeadlinePassed("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


@contextlib.contextmanager
def _deadline_told() -> Generator[None]:
    """A wait cut short by the deadline raises DeadlinePassed, not a plain timeout."""
    try:
        yield
    except httpcore.TimeoutException as exc:
        left = _left()
        if isinstance(exc, DeadlinePassed) or left is None or left > 0:
            raise
        raise DeadlinePassed("the request's deadline passed") from exc


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits at most the time its request has left."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _deadline_told():
            return self._inner.read(max_bytes, _within(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _deadline_told():
            self._inner.write(buffer, _within(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        with _deadline_told():
            tls = self._inner.start_tls(ssl_context, server_hostname, _within(timeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend with connections that hold each wait to the deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        with _deadline_told():
            stream = self._inner.connect_tcp(
                host, port, _within(timeout), local_address, socket_options
            )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        with _deadline_told():
            stream = self._inner.connect_unix_socket(path, _within(timeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def with_deadlines(transport: httpx.HTTPTransport) -> httpx.HTTPTransport:
    """`transport` with its pool connecting through `DeadlineBackend`. httpx builds the pool
    (proxied or not) and offers no backend argument, so its private pool is reached here,
    once; tests/test_deadlines.py fails if httpx moves it."""
    pool = transport._pool
    pool._network_backend = DeadlineBackend(pool._network_backend)
    return transport
