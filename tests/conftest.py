"""Fixtures for the plugin's own tests: a clean environment and real demo servers on loopback.

Every test is marked `unit` or `e2e` here, so `pytest -m unit` gives feedback in seconds: a
test is end-to-end when it runs pytest itself (pytester), starts a server or a process, or asks
for a fixture that may; the rest are pure functions over values built in the test.
"""

from __future__ import annotations

import inspect
import json
import re
from typing import TYPE_CHECKING, Any

# The libraries the plugin imports lazily, loaded once here: pytester's in-process runs
# drop every module first imported inside them, and a second copy of httpx or
# cryptography would raise exceptions the first copy's `except` clauses do not catch.
import httpcore  # noqa: F401  (httpx imports it lazily, then caches its exception classes)
import httpx  # noqa: F401
import jsonschema  # noqa: F401
import prometheus_client  # noqa: F401
import pytest
import tenacity  # noqa: F401
import trustme  # noqa: F401

from pytest_staging import schemas
from pytest_staging.demo.modes import DemoOptions
from pytest_staging.demo.server import DemoServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


CHEAP_FIXTURES = frozenset(
    {
        "request", "tmp_path", "tmp_path_factory", "monkeypatch", "capsys", "capfd", "caplog",
        "recwarn", "pytestconfig", "clean_environment", "subtests", "read_report", "worker_id",
        "testrun_uid",
    }
)  # fmt: skip
"""Fixtures that start nothing: a test that asks only for these can still be a unit test."""

STARTS_SOMETHING = re.compile(
    r"Server|serve|server\b|subprocess|Popen|runpytest|run_load|uvicorn|gunicorn|nginx|demo"
    r'|"soak"'
)
"""What a test body says when it starts a server or a process itself."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unit: a pure test, no server, process or inner pytest")
    config.addinivalue_line("markers", "e2e: runs pytest, a server or a process (see conftest)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.e2e if _end_to_end(item) else pytest.mark.unit)


def _end_to_end(item: pytest.Item) -> bool:
    if not set(getattr(item, "fixturenames", ())) <= CHEAP_FIXTURES:
        return True
    function = getattr(item, "function", None)
    return function is None or bool(STARTS_SOMETHING.search(inspect.getsource(function)))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No PYTEST_STAGING_* or proxy variable of the developer's shell leaks into a test."""
    import os

    for name in list(os.environ):
        if name.startswith("PYTEST_STAGING_") or name in PROXY_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture(scope="session")
def demo_servers() -> Iterator[Callable[..., str]]:
    """Start demo servers on demand, one per set of options, all stopped at the end."""
    started: dict[DemoOptions, DemoServer] = {}

    def url(mode: str = "healthy", **options: Any) -> str:
        key = DemoOptions(mode=mode, **options)
        if key not in started:
            started[key] = DemoServer(key)
            started[key].start()
        return started[key].url

    yield url
    for server in started.values():
        server.stop()


@pytest.fixture(scope="session")
def demo_url(demo_servers: Callable[..., str]) -> str:
    """A healthy demo service."""
    return demo_servers()


@pytest.fixture(scope="session")
def read_report() -> Callable[[Path], dict[str, Any]]:
    """Reads a JSON gate report, failing the test unless it matches the shipped schema."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(
        schemas.load("report-v1"), format_checker=Draft202012Validator.FORMAT_CHECKER
    )

    def read(path: Path) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        validator.validate(document)
        return document

    return read
