"""The destructive guard says out loud what it withholds (and follows redirects to decide),
and TLS problems end the run with one clear reason, from real loopback servers."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS
from servers import TlsOptions, serve_plain_api

from pytest_staging.http.tls import certificate_problem

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

DESTRUCTIVE_TESTS = """
import pytest

@pytest.mark.smoke
def test_reads(staging_client):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.integration
@pytest.mark.destructive
@pytest.mark.parametrize("n", range(2))
def test_deletes(n):
    pass
"""
WITHHELD_WHY = "it changes data on the target; pass --staging-allow-destructive to run it"
PLAIN_HEALTH = '[health]\npath = "/healthz"\n'


def run_gate(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={url}", "--staging-report=gate.json", *args
    )


def test_the_header_the_collection_line_and_the_end_say_what_was_withheld(
    pytester: pytest.Pytester, demo_url: str, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(DESTRUCTIVE_TESTS)
    result = run_gate(pytester, demo_url)
    report = read_report(pytester.path / "gate.json")

    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            f"staging destructive tests: withheld: {WITHHELD_WHY}",
            "collected 3 items",
            "staging: 2 destructive test(s) withheld",
        ]
    )
    result.stdout.fnmatch_lines(
        [f"destructive tests withheld (2): {WITHHELD_WHY}", "STAGING GATE: GO"]
    )
    assert [entry["reason"] for entry in report["audit"]["destructive_withheld"]] == [
        WITHHELD_WHY
    ] * 2


def test_under_xdist_the_end_of_the_run_still_counts_the_withheld_tests(
    pytester: pytest.Pytester, demo_url: str, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(DESTRUCTIVE_TESTS)
    result = pytester.runpytest_subprocess(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "--staging-report=gate.json", "-n", "2"
    )
    report = read_report(pytester.path / "gate.json")

    result.stdout.fnmatch_lines([f"destructive tests withheld (2): {WITHHELD_WHY}"])
    assert len(report["audit"]["destructive_withheld"]) == 2


def test_allowed_destructive_tests_are_said_to_be_allowed(
    pytester: pytest.Pytester, demo_url: str, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(DESTRUCTIVE_TESTS)
    result = run_gate(pytester, demo_url, "--staging-allow-destructive")

    result.stdout.fnmatch_lines(["staging destructive tests: allowed"])
    assert "withheld" not in result.stdout.str()
    assert read_report(pytester.path / "gate.json")["audit"]["destructive_withheld"] == []


class _Redirector(BaseHTTPRequestHandler):
    """`/` answers 302 to the server's `location`; `/health` answers 200."""

    def do_GET(self) -> None:
        if self.path == "/health":
            body = b'{"status": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(302)
        self.send_header("Location", self.server.location)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def redirecting_to(location: str) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    server.location = location  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize(
    ("workers", "declared_scheme"),
    [((), "http"), (("-n", "2"), "http"), ((), "https")],
    ids=["in-process", "xdist", "production-declared-https"],
)
def test_a_target_that_redirects_into_production_withholds_destructive_tests(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], dict[str, Any]],
    workers: tuple[str, ...],
    declared_scheme: str,
) -> None:
    """Also when the manifest gives production's https:// URL and the redirect goes to its
    plain-HTTP address: the same host is the same environment."""
    production = "http://127.0.0.1:9/live"  # never contacted: only the redirect names it
    declared = production.replace("http://", f"{declared_scheme}://")
    pytester.makepyfile(DESTRUCTIVE_TESTS)
    with redirecting_to(f"{production}/") as staging:
        pytester.makefile(
            ".toml",
            staging=(
                f'[environments.staging]\nurl = "{staging}"\n\n'
                f'[environments.production]\nurl = "{declared}"\nsensitive = true\n'
            ),
        )
        run = pytester.runpytest_subprocess if workers else pytester.runpytest
        result = run(
            *INNER_RUN_OPTIONS,
            "--staging-manifest=staging.toml",
            "--staging-allow-destructive",
            "--staging-report=gate.json",
            *workers,
        )
    report = read_report(pytester.path / "gate.json")

    why = (
        f"the target redirects to {production}/, environment 'production', marked sensitive "
        f"in {pytester.path / 'staging.toml'}; destructive tests never run there"
    )
    assert result.ret == 0, result.stdout.str()
    assert [entry["reason"] for entry in report["audit"]["destructive_withheld"]] == [why] * 2
    assert report["categories"]["integration"]["skipped"] == 2


def test_an_untrusted_certificate_ends_the_wait_at_once_with_the_way_out(
    pytester: pytest.Pytester, tmp_path: Path, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(DESTRUCTIVE_TESTS)
    pytester.makefile(".toml", staging=PLAIN_HEALTH)
    with serve_plain_api(username="u", password="p", tls=TlsOptions(tmp_path)) as api:
        result = run_gate(pytester, api.url, "--staging-manifest=staging.toml", "--staging-wait=30")
    report = read_report(pytester.path / "gate.json")

    assert result.ret == 69
    assert report["verdict"] == "NO-GO"
    [reason] = report["reasons"]
    assert reason.startswith("target not ready after ")
    assert (
        "(1 attempt(s)): GET /healthz got no answer (the target's TLS certificate does not verify (unable to get local issuer certificate): for a private CA pass --staging-ca-bundle PATH"
        in reason
    )
    assert report["audit"]["readiness"]["attempts"] == 1
    assert "Traceback" not in result.stdout.str()


def test_an_expired_certificate_is_named_as_expired(
    pytester: pytest.Pytester, tmp_path: Path, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(DESTRUCTIVE_TESTS)
    pytester.makefile(".toml", staging=PLAIN_HEALTH)
    expired = TlsOptions(tmp_path, not_after=datetime.now(UTC) - timedelta(days=1))
    with serve_plain_api(username="u", password="p", tls=expired) as api:
        result = run_gate(
            pytester,
            api.url,
            "--staging-manifest=staging.toml",
            f"--staging-ca-bundle={api.ca_pem}",
        )
    report = read_report(pytester.path / "gate.json")

    assert result.ret == 69
    assert "TLS certificate does not verify (certificate has expired)" in report["reasons"][0]


def test_a_valid_certificates_expiry_is_in_the_audit_and_insecure_runs_say_so_at_the_end(
    pytester: pytest.Pytester, tmp_path: Path, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(DESTRUCTIVE_TESTS.replace('"/health"', '"/healthz"'))
    pytester.makefile(".toml", staging=PLAIN_HEALTH)
    not_after = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
    with serve_plain_api(
        username="u", password="p", tls=TlsOptions(tmp_path, not_after=not_after)
    ) as api:
        verified = run_gate(
            pytester,
            api.url,
            "--staging-manifest=staging.toml",
            f"--staging-ca-bundle={api.ca_pem}",
        )
        audit = read_report(pytester.path / "gate.json")["audit"]
        insecure = run_gate(
            pytester, api.url, "--staging-manifest=staging.toml", "--staging-insecure"
        )
        insecure_audit = read_report(pytester.path / "gate.json")["audit"]

    assert verified.ret == 0, verified.stdout.str()
    assert audit["tls_certificate_expiry"] == not_after.isoformat()
    assert audit["tls_verification"] is True
    assert insecure.ret == 0, insecure.stdout.str()
    insecure.stdout.fnmatch_lines(
        [
            "WARNING: --staging-insecure: TLS certificates are NOT verified",
            "*",
            "WARNING: --staging-insecure: TLS certificates are NOT verified",
            "STAGING GATE: GO",
        ]
    )
    assert insecure_audit["tls_verification"] is False
    assert insecure_audit["tls_certificate_expiry"] is None


def test_only_certificate_errors_are_called_certificate_problems() -> None:
    import ssl

    import httpx

    error = ssl.SSLCertVerificationError(1, "verify failed")
    error.verify_message = "self-signed certificate"
    wrapped = httpx.ConnectError("boom")
    wrapped.__cause__ = error

    assert certificate_problem(httpx.ConnectError("refused")) is None
    problem = certificate_problem(wrapped)
    assert problem is not None
    assert problem.startswith(
        "the target's TLS certificate does not verify (self-signed certificate)"
    )


def test_an_exception_chain_that_loops_back_ends_the_search() -> None:
    first, second = ValueError("first"), KeyError("second")
    first.__context__, second.__context__ = second, first

    assert certificate_problem(first) is None


def test_when_the_redirect_check_cannot_finish_destructive_tests_are_withheld() -> None:
    from pytest_staging.manifest.records import Environment, Manifest
    from pytest_staging.run.destructive import redirected_to_sensitive
    from pytest_staging.settings.resolution import StagingSettings

    manifest = Manifest(
        environments={
            "production": Environment("production", "https://prod.example", sensitive=True)
        }
    )
    closed = "http://user:s3cret-pw@127.0.0.1:9"  # the discard port: nothing listens
    settings = StagingSettings(url=closed, timeout=1.0, loaded_manifest=manifest)

    why = redirected_to_sensitive(settings)

    assert why is not None
    assert why.startswith(
        "cannot tell whether http://127.0.0.1:9 redirects into a sensitive environment"
    )
    assert "s3cret" not in why
