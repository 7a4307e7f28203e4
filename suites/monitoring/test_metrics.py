"""Monitoring: `/metrics` is an exposition Prometheus can scrape, and it has samples for the
series dashboards and alerts are built on.

Prometheus picks its parser by content type and refuses one it does not know, so the
content type is judged before the body. A family with only `# HELP`/`# TYPE` lines has no
value to graph or alert on: a series counts as exposed only with at least one sample."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import httpx
import pytest

from pytest_staging import assert_status
from pytest_staging.manifest import Manifest
from pytest_staging.redaction import excerpt, shown

pytestmark = pytest.mark.monitoring
Parser = Callable[[str], Iterable[object]]
"""prometheus_client's text_string_to_metric_families, of either format."""
PROMETHEUS_TEXT = "text/plain"
OPENMETRICS = "application/openmetrics-text"
SAMPLE_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("_count", "_sum"),
}
"""The sample names a family's type adds to its name, to recognise a declared series that
is described but has no sample."""


@pytest.fixture(scope="module")
def metrics(staging_client: httpx.Client, staging_manifest: Manifest) -> httpx.Response:
    path = staging_manifest.monitoring.metrics_path
    if path is None:
        pytest.skip("monitoring.metrics_path is not declared in the manifest")
    return staging_client.get(path)


def test_metrics_parse_as_prometheus_text(metrics: httpx.Response) -> None:
    sampled, described = exposed(metrics)
    only = " (families with only # HELP/# TYPE lines are not exposed)" if described else ""
    assert sampled, f"GET {shown(metrics.request.url.path)}: no series has a sample{only}"


def test_declared_series_are_exposed(metrics: httpx.Response, staging_manifest: Manifest) -> None:
    declared = staging_manifest.monitoring.series
    if not declared:
        pytest.skip("monitoring.series is not declared in the manifest")
    sampled, described = exposed(metrics)
    missing = [name for name in declared if name not in sampled]
    bare = [name for name in missing if name in described]
    why = f" ({', '.join(bare)}: # HELP/# TYPE only, no sample)" if bare else ""
    assert not missing, f"series missing from the metrics endpoint: {', '.join(missing)}{why}"


def exposed(response: httpx.Response) -> tuple[set[str], set[str]]:
    """The family and sample names that have samples, and the names (with their types'
    sample suffixes) of families without any; fails the test when the answer is not an
    exposition Prometheus would read."""
    __tracebackhide__ = True
    assert_status(response, 200)
    where = f"GET {shown(response.request.url.path)}"
    content_type = response.headers.get("content-type", "")
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == OPENMETRICS:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    elif media_type == PROMETHEUS_TEXT:
        from prometheus_client.parser import text_string_to_metric_families
    else:
        pytest.fail(
            f"{where} (monitoring.metrics_path) answered Content-Type "
            f"{excerpt(content_type, 80) or 'none'}; expected Prometheus text "
            f"({PROMETHEUS_TEXT}; version=0.0.4) or OpenMetrics ({OPENMETRICS})",
            pytrace=False,
        )
    sampled: set[str] = set()
    described: set[str] = set()
    try:
        for family in text_string_to_metric_families(response.text):
            if family.samples:
                sampled.add(family.name)
                sampled.update(sample.name for sample in family.samples)
            else:
                suffixes = SAMPLE_SUFFIXES.get(family.type, ())
                described.update([family.name, *(family.name + s for s in suffixes)])
    except Exception as exc:  # the parser's errors are the body's: any of them fails the check
        why = parser_problem(exc, text_string_to_metric_families, response.text, media_type)
        problem = f"{where} is not {media_type}: {why}"
        raise pytest.fail.Exception(problem, pytrace=False) from None
    return sampled, described - sampled


def parser_problem(exc: Exception, parse: Parser, text: str, media_type: str) -> str:
    """What prometheus_client's parser rejects, in one line: its message (or, when it has
    none or the parser itself tripped, what it raised) and the first line it rejects alone,
    else the start of the body."""
    message = shown(str(exc))
    if not (isinstance(exc, ValueError) and message):
        said = f": {message}" if message else " without a message"
        message = f"prometheus_client's parser raised {type(exc).__name__}{said}"
    ending = "\n# EOF\n" if media_type == OPENMETRICS else "\n"
    for number, line in enumerate(text.removesuffix("\n").split("\n"), 1):  # as parsed
        try:
            if line != "# EOF":
                list(parse(line + ending))
        except Exception:
            return f"{message} (line {number}: {excerpt(line, 120)})"
    return f"{message} (the body begins {excerpt(text, 200)})"
