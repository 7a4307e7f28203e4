"""Retry plugins' attempts make a pass flaky, so `--staging-flaky-fails` sees them.

pytest-rerunfailures reports each failed attempt as "rerun"; pytest-retry reports a test's
first failure with its retry outcome ("retried") and the same report again with the final
outcome, which must count once (its requests too); flaky reports only the last run, and
leaves the earlier runs' errors on the test item. A loopback server of this file fails the
first request of a path with a 500 (a status the session client does not retry itself) and
answers later ones; the plugin runs each retry plugin in a subprocess, alone and with `-n 2`.

No retry plugin is in the test virtualenv: pytest-retry cannot be configured twice in one
process, so installed there it breaks every in-process pytester run, and flaky runs every
test through its own protocol. They are installed
(`pip install --target`) in the folder `STAGING_RETRY_PLUGINS` names, put on the runs'
PYTHONPATH; without it these tests skip locally and fail in CI (`CI` set). The gate's
counting of flaky passes is in `test_gate.py`; subtests and duplicates in `test_subtests.py`.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from inner_run import INNER_RUN_OPTIONS

PLUGINS_FOLDER = "STAGING_RETRY_PLUGINS"

PLUGINS = {
    # name: (its entry point, its options that retry every failed test once)
    "flaky": ("flaky", ("--force-flaky", "--max-runs", "2")),
    "pytest-rerunfailures": ("rerunfailures", ("--reruns", "1")),
    "pytest-retry": ("pytest-retry", ("--retries", "1")),
}
"""All three declare a `flaky` marker: each run turns the other two off."""


def plugin_options(plugin: str) -> tuple[str, ...]:
    """`plugin` retrying every failed test once, the other retry plugins off."""
    others = (entry for name, (entry, _) in PLUGINS.items() if name != plugin)
    return (*PLUGINS[plugin][1], *(word for entry in others for word in ("-p", f"no:{entry}")))


INSTALLED_AS = ("flaky", "pytest_rerunfailures.py", "pytest_retry")
"""What `pip install --target` leaves in the folder for each plugin."""


class _FirstFailsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _FirstFailsHandler)
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _FirstFailsHandler(BaseHTTPRequestHandler):
    """`/health` as the plugin's default `[health]` reads it; any other path: 500 the first
    time, then 200."""

    server: _FirstFailsServer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads the counts, not a log."""

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.seen[self.path] += 1
            first = self.server.seen[self.path] == 1
        if self.path == "/health":
            status, document = 200, {"status": "healthy", "version": "1.0.0"}
        elif first:
            status, document = 500, {"error": "not warmed up yet"}
        else:
            status, document = 200, {"ok": True}
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def first_fails() -> Iterator[_FirstFailsServer]:
    server = _FirstFailsServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def plugins_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry plugins on the inner runs' PYTHONPATH (pytester adds its folder in front)."""
    folder = os.environ.get(PLUGINS_FOLDER, "")
    if not folder or not all(Path(folder, name).exists() for name in INSTALLED_AS):
        message = f"{PLUGINS_FOLDER} names no folder with the retry plugins"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    monkeypatch.setenv("PYTHONPATH", folder)


WARMING_UP = """
import pytest


@pytest.mark.smoke
def test_warmed_up(staging_client):
    assert staging_client.get("/warmed-up").status_code == 200
"""

NODE_ID = "test_warming.py::test_warmed_up"

Run = Callable[..., tuple[pytest.RunResult, dict[str, Any], Counter[str]]]


@pytest.fixture
def run_with(
    pytester: pytest.Pytester,
    plugins_folder: None,
    read_report: Callable[[Path], dict[str, Any]],
) -> Run:
    """Run the warming-up test with a retry plugin against a server whose first answer fails;
    return the result, the JSON report and the requests the server saw per path."""
    pytester.makepyfile(test_warming=WARMING_UP)
    report = pytester.path / "gate.json"

    def run(
        plugin: str, workers: int, *args: str
    ) -> tuple[pytest.RunResult, dict[str, Any], Counter[str]]:
        xdist = ("-n", str(workers)) if workers else ()
        with first_fails() as server:
            result = pytester.runpytest_subprocess(
                *INNER_RUN_OPTIONS,
                f"--staging-url={server.url}",
                f"--staging-report={report}",
                *plugin_options(plugin),
                *xdist,
                *args,
            )
            seen = server.seen.copy()
        return result, read_report(report), seen

    return run


EACH_PLUGIN = pytest.mark.parametrize("plugin", sorted(PLUGINS))
ALONE_AND_UNDER_XDIST = pytest.mark.parametrize("workers", [0, 2], ids=["alone", "-n2"])


@EACH_PLUGIN
@ALONE_AND_UNDER_XDIST
def test_a_pass_on_a_retry_is_a_flaky_pass_whose_attempts_count_once(
    run_with: Run, plugin: str, workers: int
) -> None:
    result, report, seen = run_with(plugin, workers)
    stdout = result.stdout.str()

    assert seen["/warmed-up"] == 2, stdout  # the failed attempt and the retry
    assert result.ret == 0, stdout
    assert report["verdict"] == "GO"
    assert [(t["nodeid"], t["outcome"], t["flaky"]) for t in report["tests"]] == [
        (NODE_ID, "passed", True)
    ]
    assert report["flaky"] == [NODE_ID]
    assert (report["requests"]["total"], report["requests"]["failed"]) == (2, 1)


@EACH_PLUGIN
@ALONE_AND_UNDER_XDIST
def test_flaky_fails_counts_a_pass_on_a_retry_as_failed(
    run_with: Run, plugin: str, workers: int
) -> None:
    result, report, seen = run_with(plugin, workers, "--staging-flaky-fails=smoke")
    stdout = result.stdout.str()

    assert seen["/warmed-up"] == 2, stdout
    assert result.ret == 1, stdout
    assert report["reasons"] == [
        "smoke: pass rate 0% (0 of 1) is below the threshold 100%",
        f"smoke: 1 flaky test counted as failed (--staging-flaky-fails): {NODE_ID}",
    ]
    assert "STAGING GATE: NO-GO" in stdout


WARMING_UP_IN_SUBTESTS = """
import pytest


@pytest.mark.smoke
def test_warmed_up(subtests, staging_client):
    for path in ("/warmed-up", "/cache-warmed"):
        with subtests.test(msg=path):
            assert staging_client.get(path).status_code == 200
"""


@pytest.mark.skipif(pytest.version_tuple < (9, 0), reason="pytest < 9.0 has no subtests fixture")
@ALONE_AND_UNDER_XDIST
def test_a_failed_subtest_that_a_rerun_passes_is_a_flaky_pass(
    pytester: pytest.Pytester, run_with: Run, workers: int
) -> None:
    """pytest-rerunfailures reruns a test whose subtest failed: the rerun decides."""
    pytester.makepyfile(test_warming=WARMING_UP_IN_SUBTESTS)
    result, report, seen = run_with("pytest-rerunfailures", workers)
    stdout = result.stdout.str()

    assert (seen["/warmed-up"], seen["/cache-warmed"]) == (2, 2), stdout
    assert result.ret == 0, stdout
    assert [(t["nodeid"], t["outcome"], t["flaky"]) for t in report["tests"]] == [
        (NODE_ID, "passed", True)
    ]
    assert (report["requests"]["total"], report["requests"]["failed"]) == (4, 2)
