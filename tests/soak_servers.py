"""Loopback servers for the soak tests (`test_soak.py`): a service whose memory leaks or holds
steady, and a gate where a soak's runs check in and wait.

Standard library only; each listens on 127.0.0.1, port 0, serves in its own thread and is
stopped by the context manager that started it: no process is ever killed.

Paths, answered on GET:

- `/health`: 200 `{"status": "healthy", "version": "1.0.0"}`;
- `/api/thing`: 200 `{"thing": 1}`;
- `/metrics`: Prometheus text with `process_resident_memory_bytes` (a gauge: `BASE_BYTES`,
  plus `LEAK_BYTES` for every request served other than `/metrics` when the mode is
  `leaky`, flat when it is `steady`) and `process_cpu_seconds_total` (a counter that grows
  by `CPU_SHARE` seconds per second of wall time: a steady 5 % of one core);
- anything else: 404.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Iterator

LOOPBACK = "127.0.0.1"
BASE_BYTES = 50 * 1024 * 1024
LEAK_BYTES = 4 * 1024 * 1024
CPU_SHARE = 0.05
Mode = Literal["leaky", "steady"]


@dataclass
class StubState:
    mode: Mode
    started: float = field(default_factory=time.monotonic)
    served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def metrics(self) -> str:
        with self.lock:
            leaked = self.served * LEAK_BYTES if self.mode == "leaky" else 0
        cpu = CPU_SHARE * (time.monotonic() - self.started)
        return (
            "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
            "# TYPE process_resident_memory_bytes gauge\n"
            f"process_resident_memory_bytes {float(BASE_BYTES + leaked)}\n"
            "# HELP process_cpu_seconds_total Total user and system CPU time in seconds.\n"
            "# TYPE process_cpu_seconds_total counter\n"
            f"process_cpu_seconds_total {cpu}\n"
        )


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        state = self.server.state
        if self.path == "/metrics":
            self._send(200, state.metrics().encode(), "text/plain; version=0.0.4")
            return
        with state.lock:
            state.served += 1
        if self.path == "/health":
            self._json(200, {"status": "healthy", "version": "1.0.0"})
        elif self.path == "/api/thing":
            self._json(200, {"thing": 1})
        else:
            self._json(404, {"error": "not found"})

    def _json(self, status: int, body: object) -> None:
        self._send(status, json.dumps(body).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read the soak's output, not the server's."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: StubState) -> None:
        super().__init__((LOOPBACK, 0), _Handler)
        self.state = state


@dataclass(frozen=True)
class RunningStub:
    url: str
    state: StubState


@contextmanager
def soak_stub(mode: Mode) -> Iterator[RunningStub]:
    """A stub service on loopback for the length of the `with` block."""
    server = _Server(StubState(mode))
    thread = threading.Thread(target=server.serve_forever, name=f"soak-stub-{mode}", daemon=True)
    thread.start()
    try:
        yield RunningStub(f"http://{LOOPBACK}:{server.server_address[1]}", server.state)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@dataclass
class RunGate:
    """Where the inner test of each soak run checks in, with its process id, and waits.

    The first `let_through` check-ins go on at once; later ones are held until the gate
    closes. A test waits for a check-in (an event: a connection accepted), never for time.
    """

    address: str
    """`host:port`, for the inner tests' `SOAK_TEST_GATE` variable."""
    let_through: int
    check_ins: list[int] = field(default_factory=list)
    held: list[socket.socket] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for_check_in(self, number: int, timeout: float = 60.0) -> int:
        """The process id of the `number`th run to check in, once it has."""
        with self.changed:
            arrived = self.changed.wait_for(lambda: len(self.check_ins) >= number, timeout)
            assert arrived, f"run {number} did not check in at the gate within {timeout:g} s"
            return self.check_ins[number - 1]

    def serve(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return  # the gate closed
            connection.settimeout(30)
            pid = int(connection.makefile("r").readline())
            with self.changed:
                self.check_ins.append(pid)
                if len(self.check_ins) <= self.let_through:
                    connection.sendall(b"go")
                    connection.close()
                else:
                    self.held.append(connection)
                self.changed.notify_all()


@contextmanager
def run_gate(let_through: int = 0) -> Iterator[RunGate]:
    """A gate on loopback for the length of the `with` block; closing it lets held runs go."""
    listener = socket.create_server((LOOPBACK, 0))
    gate = RunGate(f"{LOOPBACK}:{listener.getsockname()[1]}", let_through)
    thread = threading.Thread(target=gate.serve, args=(listener,), name="soak-gate", daemon=True)
    thread.start()
    try:
        yield gate
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        listener.close()
        thread.join()
        for connection in gate.held:
            connection.close()
