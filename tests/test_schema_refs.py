"""`$ref` in the manifest's schema files, and JSON bodies too deep or too long to read.

A `$ref` is resolved at start, within its file or to a local file read like the manifest
(regular files only, bounded): never over the network, so a reference can neither hang a run
nor surface as a traceback in the middle of it. (Which files are refused: test_hostile_files.)
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, ClassVar

import pytest
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.manifest import builder  # noqa: F401  (loaded once, outside the in-process runs)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

HEALTH = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}


def _manifest(pytester: pytest.Pytester, schema: dict[str, object], path: str) -> None:
    pytester.makefile(".json", item_ref=json.dumps(schema))
    pytester.makefile(
        ".toml",
        staging=f'[health]\npath = "/health"\n[[endpoints]]\npath = "{path}"\n'
        'schema = "item_ref.json"\n',
    )


def test_a_ref_to_a_sibling_file_is_followed_and_judged(
    pytester: pytest.Pytester, demo_servers: Callable[..., str]
) -> None:
    pytester.makefile(".json", health=json.dumps({**HEALTH, "required": ["status", "colour"]}))
    _manifest(pytester, {"$ref": "health.json"}, "/health")
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        "--staging-suites",
        f"--staging-url={demo_servers()}",
        "--staging-manifest=staging.toml",
        "-k",
        "schema",
    )
    result.stdout.fnmatch_lines(
        ["*GET /health: body does not match at /: 'colour' is a required property*"]
    )
    assert "Traceback" not in result.stdout.str()


@pytest.fixture
def silent_listener() -> Iterator[tuple[str, list[socket.socket]]]:
    """A port that accepts connections and never answers: a fetch from it would hang."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    listener.settimeout(0.1)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/item.json", accepted
    finally:
        stop.set()
        thread.join(timeout=10)
        for connection in accepted:
            connection.close()
        listener.close()


def test_a_ref_to_a_url_is_a_usage_error_at_start_and_nothing_is_fetched(
    pytester: pytest.Pytester, silent_listener: tuple[str, list[socket.socket]]
) -> None:
    url, accepted = silent_listener
    _manifest(pytester, {"$ref": url}, "/api/items/1")
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, "--staging-url=http://127.0.0.1:9", "--staging-manifest=staging.toml"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"  endpoints[[]0].schema: *item_ref.json: $ref '{url}' points to {url}: schemas are "
            "never fetched from the network; save that schema beside this file and refer to it "
            "by its file name"
        ]
    )
    assert accepted == []


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("missing.json", "does not resolve: cannot read it: No such file or directory"),
        (
            "/dev/zero",
            "does not resolve: cannot read it: it is a character device, not a regular file: name a file",
        ),
        (
            "item_ref.json#/$defs/nowhere",
            "does not resolve: the file has nothing at /$defs/nowhere",
        ),
    ],
    ids=["missing-file", "device", "missing-fragment"],
)
def test_a_ref_that_does_not_resolve_is_a_usage_error_naming_it(
    pytester: pytest.Pytester, ref: str, problem: str
) -> None:
    _manifest(pytester, {"$ref": ref}, "/api/items/1")
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, "--staging-url=http://127.0.0.1:9", "--staging-manifest=staging.toml"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"  endpoints[[]0].schema: *item_ref.json: $ref '{ref}' {problem}"]
    )


class _Bodies(BaseHTTPRequestHandler):
    """Health, and JSON bodies no parser should be asked to hold: too deep, too long."""

    BODIES: ClassVar[dict[str, bytes]] = {
        "/health": b'{"status": "healthy"}',
        "/deep": b"[" * 100_000 + b"]" * 100_000,
        "/long": b'{"hit_rate": ' + b"9" * 5000 + b"}",
    }

    def do_GET(self) -> None:
        body = self.BODIES[self.path]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def bodies_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Bodies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_json_too_deep_or_too_long_fails_its_check_in_one_line(
    pytester: pytest.Pytester, bodies_url: str
) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_staging import json_body

        @pytest.mark.smoke
        @pytest.mark.parametrize("path", ["/deep", "/long"])
        def test_body(staging_client, path):
            json_body(staging_client.get(path))
        """
    )
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={bodies_url}", "-p", "no:randomly"
    )
    result.stdout.fnmatch_lines(
        [
            "*GET /deep: the JSON body is nested too deeply to read",
            "*GET /long: the JSON body cannot be read: Exceeds the limit (4300 digits)*",
        ]
    )
    assert "RecursionError" not in result.stdout.str()
