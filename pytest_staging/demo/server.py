"""Run the demo service in a child process for the length of a test session.

The child is a separate interpreter so a crash or hang in the service can never take the pytest
process down with it, and stopping it releases the port for sure.
"""

from __future__ import annotations

import atexit
import http.client
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Self

if TYPE_CHECKING:
    from pytest_staging.demo.modes import DemoOptions

_REQUIRED_MODULES = ("starlette", "uvicorn", "prometheus_client")
_MISSING_EXTRA = "the demo service needs the 'demo' extra: pip install 'pytest-staging[demo]'"
_POLL_INTERVAL_S = 0.05
_PROBE_TIMEOUT_S = 0.5
_OUTPUT_TAIL_LINES = 20
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]


class DemoStartError(Exception):
    """The demo service could not be started; the message says why and what to do."""


class DemoServer:
    """One demo service child process on a free loopback port.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`; an ``atexit`` hook
    stops a child that was never stopped explicitly.
    """

    def __init__(self, options: DemoOptions, host: str = "127.0.0.1") -> None:
        self.options = options
        self.host = host
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self._port: int | None = None

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("the demo server is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self, timeout: float = 20.0) -> str:
        """Spawn the child and wait until it answers HTTP; return its base URL."""
        if self._process is not None:
            raise RuntimeError("the demo server is already started")
        if any(importlib.util.find_spec(name) is None for name in _REQUIRED_MODULES):
            raise DemoStartError(_MISSING_EXTRA)
        try:
            process, port = self._spawn()
            self._wait_until_serving(process, port, timeout)
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the child, escalating to kill; safe to call any number of times."""
        process, self._process = self._process, None
        if process is not None:
            atexit.unregister(self.stop)
            _terminate(process, timeout)
        if self._output is not None:
            self._output.close()
            self._output = None
        self._port = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _spawn(self) -> tuple[subprocess.Popen[bytes], int]:
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - lives until stop()
        with _listening_socket(self.host) as sock:
            port: int = sock.getsockname()[1]
            self._process = subprocess.Popen(
                self._command(sock.fileno()),
                pass_fds=(sock.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
                env=_child_env(),
                start_new_session=False,
            )
        self._port = port
        atexit.register(self.stop)
        return self._process, port

    def _command(self, fd: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "pytest_staging.demo",
            "--fd",
            str(fd),
            "--host",
            self.host,
            "--mode",
            self.options.mode,
            f"--version={self.options.version}",
            "--slow-delay-ms",
            str(self.options.slow_delay_ms),
            "--flaky-every",
            str(self.options.flaky_every),
            "--leak-kib",
            str(self.options.leak_kib),
        ]

    def _wait_until_serving(
        self, process: subprocess.Popen[bytes], port: int, timeout: float
    ) -> None:
        """Any HTTP answer counts as started: a degraded service answers ``/health`` with 503."""
        deadline = time.monotonic() + timeout
        while True:
            returncode = process.poll()
            if returncode is not None:
                raise DemoStartError(
                    f"the demo service exited with code {returncode} while starting; "
                    f"its last output was:\n{self._output_tail()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DemoStartError(
                    f"the demo service did not answer GET /health within {timeout:g} s; "
                    f"raise the start timeout or check its output:\n{self._output_tail()}"
                )
            if _answers_http(self.host, port, min(remaining, _PROBE_TIMEOUT_S)):
                return
            time.sleep(_POLL_INTERVAL_S)

    def _output_tail(self) -> str:
        if self._output is None:
            return ""
        self._output.seek(0)
        lines = self._output.read().decode(errors="replace").splitlines()
        return "\n".join(lines[-_OUTPUT_TAIL_LINES:])


def _listening_socket(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise DemoStartError(f"cannot listen on {host}: {exc}") from exc
    return sock


def _child_env() -> dict[str, str]:
    """Let the child import this package even from a source checkout that is not installed."""
    env = dict(os.environ)
    paths = [str(_PACKAGE_ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(path for path in paths if path)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _answers_http(host: str, port: int, timeout: float) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/health")
        with connection.getresponse() as response:
            response.read()
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()
    return True


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
