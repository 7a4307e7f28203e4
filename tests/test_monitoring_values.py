"""The monitoring suite judges what a scraper and a person would read, on servers we did not
write: prometheus_client's own exporter, and Debian's nginx serving expositions, an HTML
page and cache statistics (`third_party.py`).

A series is exposed only with a sample, under a content type Prometheus parses; a cache hit
rate is read in its declared unit and must fit it. The suites' runs against the demo are in
`test_suites.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS
from third_party import Nginx, Page, nginx, prometheus_exporter  # noqa: F401  (fixtures)

if TYPE_CHECKING:
    from collections.abc import Callable

MONITORING = Path(__file__).resolve().parents[1] / "suites" / "monitoring"
Report = dict[str, Any]
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
DESCRIBED_ONLY = """\
# HELP thirdparty_queue_depth Jobs waiting.
# TYPE thirdparty_queue_depth gauge
"""
EXPOSITION = f"{DESCRIBED_ONLY}thirdparty_queue_depth 4\n"
OPENMETRICS = """\
# HELP thirdparty_jobs Jobs done.
# TYPE thirdparty_jobs counter
thirdparty_jobs_total 3
# EOF
"""
HTML = "<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body>ok</body></html>\n"


def run_monitoring(
    pytester: pytest.Pytester, url: str, tables: str, *options: str, test: str
) -> tuple[pytest.RunResult, Path]:
    pytester.makefile(".toml", staging=f'[environments.staging]\nurl = "{url}"\n\n{tables}')
    report = pytester.path / "gate.json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        str(MONITORING / test),
        "--staging-manifest=staging.toml",
        "--staging-env=staging",
        f"--staging-report={report}",
        *options,
    )
    return result, report


METRICS = """\
[health]
path = "{path}"

[monitoring]
metrics_path = "{path}"
series = [{series}]
"""


def test_prometheus_client_s_own_exporter_is_go(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    prometheus_exporter: str,  # noqa: F811
) -> None:
    tables = METRICS.format(
        path="/metrics", series='"thirdparty_jobs_total", "process_resident_memory_bytes"'
    )
    result, path = run_monitoring(pytester, prometheus_exporter, tables, test="test_metrics.py")
    report = read_report(path)

    assert result.ret == 0, result.stdout.str()
    assert report["categories"]["monitoring"]["passed"] == 2


@pytest.mark.parametrize(
    ("page", "failures"),
    [
        (
            Page(DESCRIBED_ONLY, PROMETHEUS_TEXT),
            [
                "*GET /metrics: no series has a sample (families with only # HELP/# TYPE lines are not exposed)",
                "*series missing from the metrics endpoint: thirdparty_queue_depth (thirdparty_queue_depth: # HELP/# TYPE only, no sample)",
            ],
        ),
        (
            Page(EXPOSITION, "text/html"),
            [
                "*GET /metrics (monitoring.metrics_path) answered Content-Type text/html; expected Prometheus text (text/plain; version=0.0.4) or OpenMetrics (application/openmetrics-text)"
            ],
        ),
        (
            Page(HTML, "text/html; charset=utf-8"),
            [
                "*GET /metrics (monitoring.metrics_path) answered Content-Type text/html; charset=utf-8; expected*"
            ],
        ),
    ],
    ids=["help and type only", "an exposition served as HTML", "an HTML page"],
)
def test_an_answer_prometheus_would_not_read_is_no_go(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    nginx: Callable[..., Nginx],  # noqa: F811
    page: Page,
    failures: list[str],
) -> None:
    server = nginx({"/metrics": page})
    tables = METRICS.format(path="/metrics", series='"thirdparty_queue_depth"')
    result, path = run_monitoring(
        pytester, server.url, tables, f"--staging-ca-bundle={server.ca_pem}", test="test_metrics.py"
    )
    report = read_report(path)

    assert result.ret == 1
    assert report["categories"]["monitoring"]["failed"] == 2
    assert report["categories"]["monitoring"]["errors"] == 0
    result.stdout.fnmatch_lines_random(failures)


def test_openmetrics_is_parsed_as_openmetrics(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    nginx: Callable[..., Nginx],  # noqa: F811
) -> None:
    page = Page(OPENMETRICS, "application/openmetrics-text; version=1.0.0; charset=utf-8")
    server = nginx({"/metrics": page})
    tables = METRICS.format(path="/metrics", series='"thirdparty_jobs_total"')
    result, path = run_monitoring(
        pytester, server.url, tables, f"--staging-ca-bundle={server.ca_pem}", test="test_metrics.py"
    )

    assert result.ret == 0, result.stdout.str()
    assert read_report(path)["categories"]["monitoring"]["passed"] == 2


CACHE = """\
[health]
path = "/cache"

[monitoring.cache]
path = "/cache"
hit_rate_field = "/hit_rate"
hit_rate_unit = "{unit}"
min_hit_rate = {minimum}
"""
NOT_A_RATIO = 'not a hit rate in monitoring.cache.hit_rate_unit = "ratio" (a number from 0 to 1)'
NOT_A_PERCENT = (
    'not a hit rate in monitoring.cache.hit_rate_unit = "percent" (a number from 0 to 100)'
)


@pytest.mark.parametrize(
    ("value", "unit", "message"),
    [
        (
            "45.0",
            "ratio",
            f'45.0, {NOT_A_RATIO}; if it is a percent, set hit_rate_unit = "percent"',
        ),
        ("1.5", "ratio", f'1.5, {NOT_A_RATIO}; if it is a percent, set hit_rate_unit = "percent"'),
        ("-0.2", "ratio", f"-0.2, {NOT_A_RATIO}"),
        ("NaN", "ratio", f"nan, {NOT_A_RATIO}"),
        ('"0.9"', "ratio", f"'0.9', {NOT_A_RATIO}"),
        ("true", "ratio", f"True, {NOT_A_RATIO}"),
        ("120", "percent", f"120, {NOT_A_PERCENT}"),
        ("Infinity", "percent", f"inf, {NOT_A_PERCENT}"),
    ],
)
def test_a_hit_rate_outside_its_unit_fails_naming_hit_rate_unit(
    pytester: pytest.Pytester,
    nginx: Callable[..., Nginx],  # noqa: F811
    value: str,
    unit: str,
    message: str,
) -> None:
    server = nginx({"/cache": Page(f'{{"hit_rate": {value}}}', "application/json")})
    result, _ = run_monitoring(
        pytester,
        server.url,
        CACHE.format(unit=unit, minimum=60),
        f"--staging-ca-bundle={server.ca_pem}",
        test="test_cache.py",
    )

    assert result.ret == 1
    result.stdout.fnmatch_lines([f"GET /cache: /hit_rate is {message}", "STAGING GATE: NO-GO"])


@pytest.mark.parametrize(("value", "unit"), [("0.9", "ratio"), ("1", "ratio"), ("90", "percent")])
def test_a_hit_rate_in_range_and_above_the_minimum_passes(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    nginx: Callable[..., Nginx],  # noqa: F811
    value: str,
    unit: str,
) -> None:
    server = nginx({"/cache": Page(f'{{"hit_rate": {value}}}', "application/json")})
    result, path = run_monitoring(
        pytester,
        server.url,
        CACHE.format(unit=unit, minimum=60),
        f"--staging-ca-bundle={server.ca_pem}",
        test="test_cache.py",
    )

    assert result.ret == 0, result.stdout.str()
    assert read_report(path)["categories"]["monitoring"]["passed"] == 1


@pytest.mark.parametrize(
    ("rate", "minimum", "failure"),
    [
        (("0.57", "ratio"), "57", None),
        (("0.29", "ratio"), "29", None),
        (("0.5699", "ratio"), "57", "56.9% is below monitoring.cache.min_hit_rate 57%"),
        (("0.8", "ratio"), "80.5", "80% is below monitoring.cache.min_hit_rate 80.5%"),
        (("57", "percent"), "57", None),
        (("56.96", "percent"), "57", "56.9% is below monitoring.cache.min_hit_rate 57%"),
    ],
)
def test_a_hit_rate_at_the_minimum_passes_exactly_and_one_below_says_so_in_one_line(
    pytester: pytest.Pytester,
    nginx: Callable[..., Nginx],  # noqa: F811
    rate: tuple[str, str],
    minimum: str,
    failure: str | None,
) -> None:
    """0.57 x 100 is 56.99999999999999 in binary floats: the rate is compared as written.
    A rate below is shown as the gate shows rates, never rounded up to the minimum."""
    value, unit = rate
    server = nginx({"/cache": Page(f'{{"hit_rate": {value}}}', "application/json")})
    result, _ = run_monitoring(
        pytester,
        server.url,
        CACHE.format(unit=unit, minimum=minimum),
        f"--staging-ca-bundle={server.ca_pem}",
        test="test_cache.py",
    )

    if failure is None:
        assert result.ret == 0, result.stdout.str()
        return
    assert result.ret == 1
    result.stdout.fnmatch_lines([f"GET /cache: cache hit rate {failure}", "STAGING GATE: NO-GO"])
    assert not [line for line in result.stdout.lines if line.startswith("E ")]


@pytest.mark.parametrize(
    ("page", "failure"),
    [
        (
            Page("# UNIT \t quantile\n# EOF\n", "application/openmetrics-text; version=1.0.0"),
            "GET /metrics is not application/openmetrics-text: prometheus_client's parser "
            "raised IndexError: string index out of range (line 1: # UNIT *quantile)",
        ),
        (
            Page("# TYPE\n", PROMETHEUS_TEXT),
            "GET /metrics is not text/plain: prometheus_client's parser raised ValueError "
            "without a message (line 1: # TYPE)",
        ),
        (
            Page(f'{EXPOSITION}thirdparty_queue_depth{{le="1}} 4\n', PROMETHEUS_TEXT),
            "GET /metrics is not text/plain: could not convert string to float: * (line 4: "
            'thirdparty_queue_depth{le="1} 4)',
        ),
    ],
    ids=["openmetrics the parser trips on", "a bare # TYPE", "an unclosed label value"],
)
def test_a_body_the_parser_rejects_fails_in_one_line_naming_its_problem(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    nginx: Callable[..., Nginx],  # noqa: F811
    page: Page,
    failure: str,
) -> None:
    server = nginx({"/metrics": page})
    tables = METRICS.format(path="/metrics", series='"thirdparty_queue_depth"')
    result, path = run_monitoring(
        pytester, server.url, tables, f"--staging-ca-bundle={server.ca_pem}", test="test_metrics.py"
    )
    report = read_report(path)

    assert result.ret == 1
    assert report["categories"]["monitoring"]["failed"] == 2
    assert report["categories"]["monitoring"]["errors"] == 0
    result.stdout.fnmatch_lines([failure])
    assert "Traceback" not in result.stdout.str()
