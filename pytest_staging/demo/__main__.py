"""Serve the demo service in the foreground: ``python -m pytest_staging.demo --mode healthy``.

``--fd`` serves on a socket the launcher already bound, so the launcher knows the port before the
child starts and nothing can grab it in between.
"""

from __future__ import annotations

import argparse
import os
import socket
import threading
import time
from typing import TYPE_CHECKING

import uvicorn

from pytest_staging.demo.app import create_app
from pytest_staging.demo.modes import DEMO_MODES, DemoOptions

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_DEFAULTS = DemoOptions(mode="healthy")
_PARENT_CHECK_INTERVAL_S = 0.5


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_staging.demo",
        description="Serve the pytest-staging demo API with a chosen fault mode.",
    )
    parser.add_argument("--mode", required=True, choices=DEMO_MODES)
    parser.add_argument("--host", default="127.0.0.1")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--port", type=int, default=8000)
    where.add_argument("--fd", type=int, help="serve on this inherited, listening socket")
    parser.add_argument("--version", default=_DEFAULTS.version, help="version shown by /health")
    parser.add_argument("--slow-delay-ms", type=_int_at_least(0), default=_DEFAULTS.slow_delay_ms)
    parser.add_argument("--flaky-every", type=_int_at_least(1), default=_DEFAULTS.flaky_every)
    parser.add_argument("--leak-kib", type=_int_at_least(0), default=_DEFAULTS.leak_kib)
    return parser


def _exit_when_orphaned(server: uvicorn.Server) -> None:
    """A launcher killed by SIGKILL cannot stop its child, so the child notices and leaves."""
    parent = os.getppid()

    def watch() -> None:
        while not server.should_exit:
            if os.getppid() != parent:
                server.should_exit = True
                return
            time.sleep(_PARENT_CHECK_INTERVAL_S)

    threading.Thread(target=watch, name="demo-parent-watch", daemon=True).start()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    options = DemoOptions(
        mode=args.mode,
        version=args.version,
        slow_delay_ms=args.slow_delay_ms,
        flaky_every=args.flaky_every,
        leak_kib=args.leak_kib,
    )
    config = uvicorn.Config(
        create_app(options),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    if args.fd is None:
        server.run()
        return 0
    with socket.socket(fileno=args.fd) as sock:
        _exit_when_orphaned(server)
        server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
