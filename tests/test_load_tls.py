"""Load over TLS with a private CA: `--staging-ca-bundle` and `--staging-insecure` reach the
locust users, and a TLS failure is named as the cause of a NO-GO.

The target is the demo app under uvicorn with a trustme certificate for 127.0.0.1, in a
subprocess on a socket bound before it starts (so the first request simply waits for it).
Load runs without TLS, their thresholds and the report entry are in test_load.py; failure
causes over plain HTTP in test_load_failures.py.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import trustme
from inner_run import INNER_RUN_OPTIONS
from prometheus_client.parser import text_string_to_metric_families

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SUITES = Path(__file__).resolve().parents[1] / "suites"

Report = dict[str, Any]
START_TIMEOUT_S = 60.0
APP_MODULE = """
from pytest_staging.demo.app import create_app
from pytest_staging.demo.modes import DemoOptions

app = create_app(DemoOptions("healthy"))
"""
MANIFEST = """
[load]
users = 2
duration = "2s"
min_requests = 10
[[load.tasks]]
path = "/api/items"
[[load.tasks]]
path = "/health"
"""


@dataclass(frozen=True)
class TlsDemo:
    url: str
    ca_pem: Path

    def trust(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_pem))

    def served(self) -> int:
        """How many requests the demo has answered, by its own /metrics."""
        text = httpx.get(f"{self.url}/metrics", verify=self.trust()).text
        return sum(
            int(sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "demo_http_requests_total"
        )


@pytest.fixture(scope="module")
def tls_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsDemo]:
    folder = tmp_path_factory.mktemp("tls-demo")
    ca = trustme.CA()
    server_pem = folder / "server.pem"
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    (folder / "tls_demo_app.py").write_text(APP_MODULE, encoding="utf-8")
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(128)
        port = listening.getsockname()[1]
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "tls_demo_app:app"),
                *("--app-dir", str(folder), "--fd", str(listening.fileno())),
                *("--ssl-certfile", str(server_pem), "--ssl-keyfile", str(server_pem)),
                *("--log-level", "warning"),
            ],
            pass_fds=(listening.fileno(),),
            stdin=subprocess.DEVNULL,
        )
    demo = TlsDemo(f"https://127.0.0.1:{port}", folder / "ca.pem")
    try:
        # The socket listens already: this request waits in its backlog until uvicorn serves.
        health = httpx.get(f"{demo.url}/health", verify=demo.trust(), timeout=START_TIMEOUT_S)
        assert health.status_code == 200, health.text
        yield demo
    finally:
        server.terminate()
        server.wait(timeout=20)


def gate_run(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], *args: str
) -> tuple[pytest.RunResult, Report]:
    report_path = pytester.path / "gate.json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        "--staging-manifest=staging.toml",
        f"--staging-report={report_path}",
        *args,
    )
    return result, read_report(report_path)


@pytest.mark.parametrize("trust", ["--staging-ca-bundle", "--staging-insecure"])
def test_the_manifests_load_over_tls_trusts_what_the_run_trusts(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    tls_demo: TlsDemo,
    trust: str,
) -> None:
    """Before: every request failed (CERTIFICATE_VERIFY_FAILED), a NO-GO on a healthy service."""
    pytester.makefile(".toml", staging=MANIFEST)
    option = f"{trust}={tls_demo.ca_pem}" if trust == "--staging-ca-bundle" else trust
    before = tls_demo.served()
    result, report = gate_run(
        pytester,
        read_report,
        str(SUITES / "performance" / "test_load.py"),
        f"--staging-url={tls_demo.url}",
        option,
    )
    served = tls_demo.served() - before

    assert result.ret == 0, result.stdout.str()
    assert report["verdict"] == "GO"
    (run,) = report["load"]
    assert (run["ok"], run["failures"], run["failure_causes"]) == (True, 0, [])
    assert run["requests"] >= 10
    # the demo answered them all (plus the readiness probe and these two /metrics reads)
    assert run["requests"] <= served <= run["requests"] + 2 + 10, served


OWN_LOCUSTFILE = """
from locust import FastHttpUser, constant, task


class Inherits(FastHttpUser):
    '''Sets no TLS: gets the run's trust, the CA bundle.'''

    wait_time = constant(0.05)

    @task
    def items(self):
        self.client.get("/api/items", name="inherits")


class OwnTrust(FastHttpUser):
    '''Chose to verify with locust's default trust (certifi), which lacks the private CA.'''

    wait_time = constant(0.05)
    insecure = False

    @task
    def items(self):
        self.client.get("/api/items", name="own trust")
"""
OWN_TESTS = """
from pathlib import Path

import pytest


@pytest.mark.performance
def test_own_locustfile(staging_load):
    staging_load.run(locustfile=Path(__file__).with_name("own.py"), users=2, duration="2s")
"""


def test_a_locustfile_gets_the_runs_trust_unless_it_chose_its_own_and_tls_failures_are_named(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], tls_demo: TlsDemo
) -> None:
    pytester.makefile(".toml", staging="")
    pytester.makepyfile(own=OWN_LOCUSTFILE, test_own=OWN_TESTS)
    result, report = gate_run(
        pytester,
        read_report,
        "test_own.py",
        f"--staging-url={tls_demo.url}",
        f"--staging-ca-bundle={tls_demo.ca_pem}",
    )

    assert result.ret == 1
    (run,) = report["load"]
    by_name = {entry["name"]: entry for entry in run["endpoints"]}
    assert by_name["inherits"]["requests"] > 0
    assert by_name["inherits"]["failures"] == 0
    own = by_name["own trust"]
    assert own["requests"] == own["failures"] > 0
    (cause,) = run["failure_causes"]
    assert cause["cause"].startswith("SSLCertVerificationError(")
    assert "CERTIFICATE_VERIFY_FAILED" in cause["cause"]
    assert (cause["count"], cause["requests"]) == (own["failures"], ["own trust"])
    (reason,) = [r for r in report["reasons"] if r.startswith("performance: load ")]
    assert reason.startswith("performance: load own.py: 2 users for 2s: failure rate ")
    assert reason.endswith(
        f"(the default; set error_rate to allow more); "
        f"top failures: {cause['cause']} ({cause['count']}, own trust)"
    )
    assert run["notes"][-1] == f"top failures: {cause['cause']} ({cause['count']}, own trust)"


REQUESTS_LOCUSTFILE = """
import os

import requests
from locust import HttpUser, constant, task


class Inherits(HttpUser):
    '''A requests session that sets no verify: gets the run's trust.'''

    wait_time = constant(0.05)

    def on_start(self):
        if os.environ.get("PYTEST_STAGING_LOAD_INSECURE") != "1":
            # the locustfile's own requests call: REQUESTS_CA_BUNDLE (a task error otherwise)
            requests.get(f"{self.host}/health", timeout=10).raise_for_status()

    @task
    def items(self):
        self.client.get("/api/items", name="inherits")


class OwnTrust(HttpUser):
    '''Chose locust's default trust (certifi) itself, which lacks the private CA.'''

    wait_time = constant(0.05)

    def on_start(self):
        self.client.verify = True

    @task
    def items(self):
        self.client.get("/api/items", name="own trust")
"""
REQUESTS_TESTS = """
from pathlib import Path

import pytest


@pytest.mark.performance
def test_requests_users(staging_load):
    staging_load.run(locustfile=Path(__file__).with_name("own.py"), users=2, duration="2s")
"""


@pytest.mark.parametrize("trust", ["--staging-ca-bundle", "--staging-insecure"])
def test_an_http_user_gets_the_runs_trust_unless_it_chose_its_own(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], tls_demo: TlsDemo, trust: str
) -> None:
    """Before: the HttpUser's requests (requests, certifi) all failed with
    SSLCertVerificationError under either option: a NO-GO on a healthy service."""
    pytester.makefile(".toml", staging="")
    pytester.makepyfile(own=REQUESTS_LOCUSTFILE, test_own=REQUESTS_TESTS)
    option = f"{trust}={tls_demo.ca_pem}" if trust == "--staging-ca-bundle" else trust
    result, report = gate_run(
        pytester, read_report, "test_own.py", f"--staging-url={tls_demo.url}", option
    )

    assert result.ret == 1  # the class that chose certifi fails, as it would without us
    (run,) = report["load"]
    assert run["task_errors"] == []
    by_name = {entry["name"]: entry for entry in run["endpoints"]}
    assert by_name["inherits"]["requests"] > 0
    assert by_name["inherits"]["failures"] == 0
    own = by_name["own trust"]
    assert own["requests"] == own["failures"] > 0
    (cause,) = run["failure_causes"]
    assert cause["cause"].startswith("SSLError(SSLCertVerificationError(")
    assert "CERTIFICATE_VERIFY_FAILED" in cause["cause"]
    assert cause["requests"] == ["own trust"]
