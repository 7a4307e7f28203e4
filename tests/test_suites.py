"""The bundled suites, driven by manifests, against real servers on loopback: the demo service
in every fault mode, and a plain JSON API without an envelope, over HTTP and over TLS."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS
from servers import PlainApi, TlsOptions, serve_plain_api

from pytest_staging.demo.modes import DEMO_CREDENTIAL_ENVIRON
from pytest_staging.settings.manifest_choice import demo_manifest_path

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SUITES = Path(__file__).resolve().parents[1] / "suites"
Report = dict[str, Any]


def run_suites(
    pytester: pytest.Pytester, *options: str, subprocess: bool = False
) -> tuple[pytest.RunResult, Path]:
    report = pytester.path / "gate.json"
    args = (*INNER_RUN_OPTIONS, str(SUITES), f"--staging-report={report}", *options)
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    return run(*args), report


def outcomes(report: Report, outcome: str) -> set[str]:
    return {t["nodeid"].partition("suites/")[2] for t in report["tests"] if t["outcome"] == outcome}


def counts(report: Report) -> dict[str, tuple[int, int, int, int]]:
    return {
        name: (c["passed"], c["failed"], c["errors"], c["skipped"])
        for name, c in report["categories"].items()
    }


HEALTHY_COUNTS = {  # (passed, failed, errors, skipped); the auth tests count in smoke and security
    "smoke": (17, 0, 0, 1),
    "integration": (8, 0, 0, 0),
    "performance": (3, 0, 0, 0),  # two latency budgets and the manifest's load run
    "security": (12, 0, 0, 4),
    "monitoring": (3, 0, 0, 0),
}
NOT_PERFORMANCE = ("-m", "not performance")
"""For runs about other categories: the demo's load run alone takes seconds."""
HEALTH_FAILURES = {
    "smoke/test_health.py::test_health_answers_with_its_status",
    "smoke/test_health.py::test_health_says_healthy",
    "smoke/test_health.py::test_every_component_is_healthy",
}


def test_healthy_demo_is_go_in_every_category(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report]
) -> None:
    result, path = run_suites(pytester, "--staging-demo")
    report = read_report(path)

    assert result.ret == 0, result.stdout.str()
    assert report["verdict"] == "GO"
    assert outcomes(report, "failed") == set()
    assert counts(report) == HEALTHY_COUNTS
    assert {
        "integration/test_round_trip.py::test_create_read_delete_round_trip[items]",
        "performance/test_budgets.py::test_endpoint_p95_within_its_budget[GET /api/items]",
        "performance/test_budgets.py::test_endpoint_p95_within_its_budget[GET one item]",
        "performance/test_load.py::test_load_meets_its_thresholds",
    } <= outcomes(report, "passed")
    result.stdout.fnmatch_lines(["load OK: *: 10 users for 3s: * requests, *"])

    (load,) = report["load"]
    assert load["nodeid"].endswith("performance/test_load.py::test_load_meets_its_thresholds")
    assert (load["users"], load["duration_s"], load["ok"]) == (10, 3.0, True)
    assert load["requests"] > 0
    assert load["thresholds"] == {
        "p95_ms": 500,
        "error_rate": 1.0,
        "min_rps": 20,
        "min_requests": 50,
    }
    assert {check["metric"]: check["ok"] for check in load["checks"]} == {
        "min_requests": True,
        "p95_ms": True,
        "error_rate": True,
        "min_rps": True,
    }
    assert {entry["name"] for entry in load["endpoints"]} == {
        "GET /api/items",
        "GET one item",
        "GET /health",
    }
    assert load["history"]
    # the budgets' samples (20 each, plus a warm-up) are in the run's latency section
    assert report["latency"]["GET /api/items"]["count"] >= 20
    assert report["latency"]["GET /api/items/1"]["count"] >= 20


def test_degraded_demo_is_no_go_in_smoke_with_a_critical_failure(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report]
) -> None:
    result, path = run_suites(pytester, "--staging-demo=degraded", *NOT_PERFORMANCE)
    report = read_report(path)

    assert result.ret == 1
    assert report["verdict"] == "NO-GO"
    assert outcomes(report, "failed") == HEALTH_FAILURES | {
        "monitoring/test_cache.py::test_cache_hit_rate_meets_the_minimum"
    }
    assert report["categories"]["smoke"]["ok"] is False
    assert report["categories"]["integration"]["ok"] is True
    assert report["critical_failures"] == [
        "suites/smoke/test_health.py::test_health_answers_with_its_status"
    ]


def test_broken_envelope_demo_is_no_go_in_smoke_and_integration(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report]
) -> None:
    result, path = run_suites(pytester, "--staging-demo=broken-envelope", *NOT_PERFORMANCE)
    report = read_report(path)

    assert result.ret == 1
    assert report["categories"]["smoke"]["ok"] is False
    assert report["categories"]["integration"]["ok"] is False
    assert report["critical_failures"] == []
    failed = outcomes(report, "failed") | outcomes(report, "error")
    assert {
        "smoke/test_endpoints.py::test_endpoint_keeps_the_envelope[GET /api/items]",
        "integration/test_errors.py::test_404_keeps_the_envelope",
        "integration/test_schemas.py::test_body_matches_its_schema[GET one item]",
    } <= failed
    assert not any("test_health" in nodeid for nodeid in failed)


def test_flaky_demo_verdict_follows_the_gate_rates(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report]
) -> None:
    result, path = run_suites(pytester, "--staging-demo=flaky", *NOT_PERFORMANCE)
    report = read_report(path)

    below = [
        name
        for name, category in report["categories"].items()
        if category["ok"] is False and category["threshold"] is not None
    ]
    assert report["totals"]["failed"] > 0
    assert below, "one failing /api request in five must break a 95-100 % gate"
    assert report["verdict"] == "NO-GO"
    assert result.ret == 1
    for name in below:
        assert any(reason.startswith(f"{name}: pass rate") for reason in report["reasons"])
    result.stdout.fnmatch_lines(["*expected status 200, got 500*"])


@pytest.fixture
def demo_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo manifest's credential variables, for runs that name the demo by URL."""
    for name, value in DEMO_CREDENTIAL_ENVIRON.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("demo_account")
def test_slow_demo_breaks_its_latency_budgets_and_is_no_go(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    demo_servers: Callable[..., str],
) -> None:
    url = demo_servers("slow")  # every /api request waits 250 ms; the budgets allow 200 ms
    result, path = run_suites(
        pytester,
        f"--staging-url={url}",
        f"--staging-manifest={demo_manifest_path()}",
        *("-m", "performance", "-k", "not test_load_meets_its_thresholds"),
    )
    report = read_report(path)

    assert result.ret == 1
    assert report["verdict"] == "NO-GO"
    assert counts(report)["performance"] == (0, 2, 0, 0)
    assert report["categories"]["performance"]["ok"] is False
    rate = "performance: pass rate 0% (0 of 2) is below the threshold 90%"
    assert rate in report["reasons"]
    one_item, items = sorted(
        reason
        for reason in report["reasons"]
        if reason != rate and reason.startswith("performance: ")
    )
    budget = " ms is above the budget p95_ms = 200 ms (20 samples)"
    assert items.startswith("performance: GET /api/items: p95 ")
    assert items.endswith(budget)
    assert one_item.startswith("performance: GET /api/items/1: p95 ")
    assert one_item.endswith(budget)
    for reason in (items, one_item):  # the measured p95 is at least the injected delay
        assert float(reason.split(": p95 ")[1].split(" ms")[0]) >= 250
    result.stdout.fnmatch_lines(
        ["*limits not met:", "*- GET /api/items: p95 * ms is above the budget p95_ms = 200 ms*"]
    )


def test_xdist_gives_the_same_counts_as_a_single_process(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report]
) -> None:
    """The single-process counts are HEALTHY_COUNTS (see the healthy demo test)."""
    parallel, parallel_path = run_suites(pytester, "--staging-demo", "-n", "2", subprocess=True)
    report = read_report(parallel_path)

    assert parallel.ret == 0, parallel.stdout.str()
    assert counts(report) == HEALTHY_COUNTS
    parallel.stdout.fnmatch_lines(["*2 workers*", "STAGING GATE: GO"])
    (load,) = report["load"]  # measured on a worker, reported by the controller
    assert load["ok"] is True
    assert load["requests"] > 0


@pytest.mark.usefixtures("demo_account")
def test_destructive_round_trip_is_withheld_unless_allowed(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], demo_url: str
) -> None:
    result, path = run_suites(
        pytester,
        f"--staging-url={demo_url}",
        f"--staging-manifest={demo_manifest_path()}",
        "-rs",
        *NOT_PERFORMANCE,
    )
    report = read_report(path)

    assert result.ret == 0
    assert outcomes(report, "skipped") >= {
        "integration/test_round_trip.py::test_create_read_delete_round_trip[items]"
    }
    result.stdout.fnmatch_lines(["*pass --staging-allow-destructive to run it*"])


def test_missing_credentials_fail_only_the_tests_that_need_them(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], demo_url: str
) -> None:
    manifest = demo_manifest_path().read_text(encoding="utf-8")
    pytester.makefile(".toml", staging=manifest)
    schemas = pytester.mkdir("schemas")
    for schema in (demo_manifest_path().parent / "schemas").iterdir():
        (schemas / schema.name).write_text(schema.read_text(encoding="utf-8"))
    result, path = run_suites(
        pytester, f"--staging-url={demo_url}", "--staging-manifest=staging.toml", *NOT_PERFORMANCE
    )
    report = read_report(path)

    assert result.ret == 1
    failed = outcomes(report, "failed") | outcomes(report, "error")
    assert failed == {
        "smoke/test_auth.py::test_valid_credentials_log_in",
        "smoke/test_auth.py::test_valid_credentials_reach_the_protected_endpoint",
        "smoke/test_auth.py::test_bad_credentials_are_rejected_with_401",
        "smoke/test_auth.py::test_logout_invalidates_the_token",
    }
    result.stdout.fnmatch_lines(
        ["*the environment variable PYTEST_STAGING_DEMO_USERNAME (auth.username_env) is not set*"]
    )


PLAIN_MANIFEST = """
[service]
name = "plain-api"

[environments.staging]
url = "{url}"

[health]
path = "/healthz"
status_field = "/state"
healthy_value = "up"
components = "/checks"
version_field = "/build"

[[endpoints]]
path = "/v1/things"
schema = "things.json"
pagination = {{ items = "/items", total = "/count", page = "/page", per_page = "/size" }}

[[endpoints]]
path = "/v1/things/1"

[[endpoints]]
name = "who am I"
path = "/v1/me"
auth = true
category = "security"

[auth]
kind = "basic"
protected_path = "/v1/me"
username_env = "PLAIN_API_USER"
password_env = "PLAIN_API_PASSWORD"

[errors]
not_found_path = "/v1/things/999"
[errors.bad_request]
method = "GET"
path = "/v1/things?page=0"
status = 400

[[resources]]
path = "/v1/things"
create = {{ title = "pytest-staging round trip" }}

[security]
paths = ["/healthz", "/v1/things"]
http_port = {http_port}
"""
THINGS_SCHEMA = '{"type": "object", "required": ["items", "count"]}'
USER, PASSWORD = "plain-user", "plain-password-4711"


@pytest.fixture
def plain_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """The credential variables the plain API's manifest names."""
    monkeypatch.setenv("PLAIN_API_USER", USER)
    monkeypatch.setenv("PLAIN_API_PASSWORD", PASSWORD)


@pytest.fixture
def plain_api(plain_account: None) -> Iterator[PlainApi]:
    with serve_plain_api(username=USER, password=PASSWORD) as api:
        yield api


def write_plain_manifest(
    pytester: pytest.Pytester, api: PlainApi, http_port: int | None = None
) -> None:
    port = api.http_port if http_port is None else http_port
    text = PLAIN_MANIFEST.format(url=api.url, http_port=80 if port is None else port)
    pytester.makefile(".toml", staging=text)
    pytester.makefile(".json", things=THINGS_SCHEMA)


def test_a_plain_json_api_without_envelope_is_go(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], plain_api: PlainApi
) -> None:
    write_plain_manifest(pytester, plain_api)
    result, path = run_suites(
        pytester, "--staging-manifest=staging.toml", "--staging-allow-destructive"
    )
    report = read_report(path)

    assert result.ret == 0, result.stdout.str()
    assert report["verdict"] == "GO"
    passed = outcomes(report, "passed")
    assert {
        "smoke/test_health.py::test_every_component_is_healthy",
        "smoke/test_auth.py::test_valid_credentials_reach_the_protected_endpoint",
        "smoke/test_auth.py::test_bad_credentials_are_rejected_with_401",
        "integration/test_pagination.py::test_pagination_meta_is_consistent[GET /v1/things]",
        "integration/test_round_trip.py::test_create_read_delete_round_trip[/v1/things]",
        "integration/test_errors.py::test_bad_request_is_rejected",
        "smoke/test_endpoints.py::test_endpoint_answers_with_its_status[who am I]",
    } <= passed
    assert "integration/test_errors.py::test_404_keeps_the_envelope" in outcomes(report, "skipped")
    assert PASSWORD not in result.stdout.str() + path.read_text(encoding="utf-8")


def test_missing_credentials_fail_only_the_endpoints_that_need_them(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report]
) -> None:
    with serve_plain_api(username=USER, password=PASSWORD) as api:
        write_plain_manifest(pytester, api)
        result, path = run_suites(pytester, "--staging-manifest=staging.toml", "-k", "endpoint")
    report = read_report(path)

    assert result.ret == 1
    assert outcomes(report, "failed") | outcomes(report, "error") == {
        "smoke/test_endpoints.py::test_endpoint_answers_with_its_status[who am I]",
        "smoke/test_auth.py::test_valid_credentials_reach_the_protected_endpoint",
    }
    assert "smoke/test_endpoints.py::test_endpoint_answers_with_its_status[GET /v1/things]" in (
        outcomes(report, "passed")
    )
    result.stdout.fnmatch_lines(["*the environment variable PLAIN_API_USER*is not set*"])


@pytest.mark.usefixtures("plain_account")
def test_an_unhealthy_plain_api_is_no_go(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
) -> None:
    with serve_plain_api(username=USER, password=PASSWORD, fail_health=True) as api:
        write_plain_manifest(pytester, api)
        result, path = run_suites(pytester, "--staging-manifest=staging.toml")
    report = read_report(path)

    assert result.ret == 1
    assert report["categories"]["smoke"]["ok"] is False
    assert "smoke/test_health.py::test_health_answers_with_its_status" in outcomes(report, "failed")


def run_over_tls(
    pytester: pytest.Pytester,
    tmp_path: Path,
    not_after: datetime | None = None,
    http_port: int | None = None,
) -> tuple[pytest.RunResult, Path]:
    with serve_plain_api(
        username=USER, password=PASSWORD, tls=TlsOptions(tmp_path, not_after=not_after)
    ) as api:
        assert api.ca_pem is not None
        write_plain_manifest(pytester, api, http_port)
        return run_suites(
            pytester,
            "--staging-manifest=staging.toml",
            f"--staging-ca-bundle={api.ca_pem}",
            "-k",
            "security",
        )


@pytest.mark.usefixtures("plain_account")
def test_tls_service_redirects_http_and_has_a_valid_certificate(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    tmp_path: Path,
) -> None:
    result, path = run_over_tls(pytester, tmp_path, not_after=None)
    report = read_report(path)

    assert result.ret == 0, result.stdout.str()
    assert outcomes(report, "skipped") == {
        "smoke/test_auth.py::test_valid_credentials_log_in",
        "security/test_rate_limit.py::test_rate_limit_answers_429",
        "smoke/test_auth.py::test_logout_invalidates_the_token",
    }
    assert {
        "security/test_transport.py::test_plain_http_is_redirected_to_https",
        "security/test_transport.py::test_tls_certificate_is_valid_and_not_expiring",
        "security/test_headers.py::test_strict_transport_security_is_set[/healthz]",
    } <= outcomes(report, "passed")


@pytest.mark.usefixtures("plain_account")
def test_a_certificate_expiring_within_the_minimum_days_is_no_go(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    tmp_path: Path,
) -> None:
    soon = datetime.now(UTC) + timedelta(days=3)
    result, path = run_over_tls(pytester, tmp_path, not_after=soon)
    report = read_report(path)

    assert result.ret == 1
    assert outcomes(report, "failed") == {
        "security/test_transport.py::test_tls_certificate_is_valid_and_not_expiring"
    }
    result.stdout.fnmatch_lines(["*security.tls_min_days asks for at least 14*"])


def test_staging_suites_option_adds_the_bundled_suites_to_own_tests(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report]
) -> None:
    pytester.makepyfile(test_own="import pytest\n\n@pytest.mark.smoke\ndef test_own():\n    pass\n")
    report_path = pytester.path / "gate.json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        "test_own.py",
        "--staging-suites",
        "--staging-demo",
        f"--staging-report={report_path}",
        *NOT_PERFORMANCE,
    )
    report = read_report(report_path)

    assert result.ret == 0, result.stdout.str()
    smoke_passed, *_ = HEALTHY_COUNTS["smoke"]
    assert report["categories"]["smoke"]["passed"] == smoke_passed + 1
    assert "test_own.py::test_own" in {t["nodeid"] for t in report["tests"]}


def test_a_manifest_without_auth_skips_the_auth_checks_by_name(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], demo_url: str
) -> None:
    pytester.makefile(".toml", staging='[[endpoints]]\npath = "/api/items"\n')
    result, path = run_suites(
        pytester, f"--staging-url={demo_url}", "--staging-manifest=staging.toml", "-rs"
    )
    report = read_report(path)

    assert result.ret == 0, result.stdout.str()
    assert {
        "smoke/test_auth.py::test_valid_credentials_reach_the_protected_endpoint",
        "smoke/test_auth.py::test_protected_endpoint_refuses_anonymous_requests",
    } <= outcomes(report, "skipped")
    result.stdout.fnmatch_lines(["*no [[]auth[]] in the manifest*"])


def closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.usefixtures("plain_account")
def test_closed_plain_http_fails_the_redirect_check_with_the_way_out(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], tmp_path: Path
) -> None:
    result, path = run_over_tls(pytester, tmp_path, http_port=closed_loopback_port())

    assert result.ret == 1
    assert outcomes(read_report(path), "failed") == {
        "security/test_transport.py::test_plain_http_is_redirected_to_https"
    }
    result.stdout.fnmatch_lines(
        [
            "*got no answer (ConnectError: *If plain HTTP is closed on purpose, set security.http_port = 0*"
        ]
    )
