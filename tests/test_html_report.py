"""The pytest-html report: the verdict block, the charts and each test's requests, from real runs.

The page is read as pytest-html wrote it: the summary block is server-rendered
HTML, each test's extras sit in the JSON blob its script renders from. What a
browser shows of both is proven by tests/test_html_browser.py.
"""

from __future__ import annotations

import html
import json
import re
from typing import TYPE_CHECKING, Any

from inner_run import INNER_RUN_OPTIONS, ONE_FAILURE_IN_THREE

from pytest_staging.gate import CategoryResult
from pytest_staging.redaction import redactor
from pytest_staging.report import charts

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import pytest

CALLS_THE_TARGET = """

@pytest.mark.integration
def test_items_are_a_teapot(staging_client):
    response = staging_client.get("/api/items")
    assert response.status_code == 418
"""
"""A failing test whose last answer (the demo's item list) the report must show."""


def run_with_html(
    pytester: pytest.Pytester, url: str, *args: str, subprocess: bool = False
) -> tuple[pytest.RunResult, str]:
    options = (
        *INNER_RUN_OPTIONS,
        f"--staging-url={url}",
        "--html=report.html",
        "--self-contained-html",
        "--staging-report=gate.json",
        *args,
    )
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    result = run(*options)
    return result, (pytester.path / "report.html").read_text(encoding="utf-8")


def staging_section(page: str) -> str:
    match = re.search(r'<section id="staging-gate".*?</section>', page, re.DOTALL)
    assert match, "no staging-gate section in the HTML report"
    return match.group(0)


def gate_rows(section: str) -> dict[str, list[str]]:
    """category -> its cells after the name (passed ... result), from the gate table."""
    rows = re.findall(r'<tr data-category="([^"]+)">(.*?)</tr>', section)
    return {name: re.findall(r"<td[^>]*>(.*?)</td>", cells)[1:] for name, cells in rows}


def listed(section: str, element_id: str) -> list[str]:
    match = re.search(rf'<div id="{element_id}">.*?<ul>(.*?)</ul>', section)
    return (
        [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", match.group(1))]
        if match
        else []
    )


def row_extras(page: str) -> dict[str, list[str]]:
    """node id -> the HTML extras pytest-html will show in that test's row."""
    blob = re.search(r'data-jsonblob="(.*?)"', page, re.DOTALL)
    assert blob, "no data blob in the HTML report"
    tests = json.loads(html.unescape(blob.group(1)))["tests"]
    return {
        nodeid: [extra["content"] for row in rows for extra in row["extras"]]
        for nodeid, rows in tests.items()
    }


def fragments_of(extras: dict[str, list[str]], name: str) -> str:
    """All extras of the one test called `name`, joined."""
    [nodeid] = [nodeid for nodeid in extras if nodeid.endswith(f"::{name}")]
    return "".join(extras[nodeid])


def test_a_no_go_report_opens_its_summary_with_the_verdict_reasons_and_table(
    pytester: pytest.Pytester, demo_url: str, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE)
    result, page = run_with_html(pytester, demo_url)
    report = read_report(pytester.path / "gate.json")
    section = staging_section(page)

    assert result.ret == 1
    assert page.index('<section id="staging-gate"') < page.index('class="run-count"')
    assert 'class="staging-no-go" data-verdict="NO-GO"' in section
    assert '<h2 class="staging-verdict">Staging gate: NO-GO</h2>' in section
    assert f"Target: {demo_url} (environment staging), exit code 1" in section
    assert listed(section, "staging-reasons") == report["reasons"]
    rows = gate_rows(section)
    for name in ("smoke", "integration"):
        counts = report["categories"][name]
        assert rows[name][:2] == [str(counts["passed"]), str(counts["failed"])]
    assert rows["integration"][-1] == "FAIL"
    assert re.search(r"<tfoot><tr><td>total</td>.*NO-GO</td></tr></tfoot>", section)
    address = report["audit"]["resolved_address"]
    assert f"<th>resolved address</th><td>{address}</td>" in section


def test_a_go_report_says_go_and_lists_no_reasons(pytester: pytest.Pytester, demo_url: str) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE.replace("n != 2", "n != 5"))
    result, page = run_with_html(pytester, demo_url)
    section = staging_section(page)

    assert result.ret == 0
    assert 'class="staging-go" data-verdict="GO"' in section
    assert '<h2 class="staging-verdict">Staging gate: GO</h2>' in section
    assert 'id="staging-reasons"' not in section
    assert gate_rows(section)["integration"] == ["3", "0", "0", "0", "100%", "95%", "OK"]


def test_each_test_shows_its_requests_and_a_failure_the_targets_masked_last_answer(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE + CALLS_THE_TARGET)
    # The demo's envelope starts {"success":true,...}: made a secret, it must show masked.
    _, page = run_with_html(pytester, demo_url, "--staging-header=X-Probe: success")
    extras = row_extras(page)

    health = fragments_of(extras, "test_health")
    assert re.search(r"<td>GET</td><td>/health</td><td>200</td><td>[0-9.]+</td>", health)
    assert "staging-answer" not in health
    teapot = fragments_of(extras, "test_items_are_a_teapot")
    assert "<p>Last answer: GET /api/items → 200</p>" in teapot
    answer = re.search(r"<pre[^>]*>(.*?)</pre>", teapot, re.DOTALL)
    assert answer
    assert answer.group(1).startswith("{&quot;***&quot;:true")
    assert "success" not in answer.group(1)
    assert fragments_of(extras, "test_sums[0]") == ""


def test_under_xdist_the_controller_writes_the_block_and_every_tests_requests(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE + CALLS_THE_TARGET)
    result, page = run_with_html(pytester, demo_url, "-n", "2", subprocess=True)

    assert result.ret == 1
    assert page.count('<section id="staging-gate"') == 1
    assert gate_rows(staging_section(page))["integration"][:2] == ["2", "2"]
    with_answer = [
        nodeid
        for nodeid, fragments in row_extras(page).items()
        if any("staging-answer" in f for f in fragments)
    ]
    assert [nodeid.rsplit("::", 1)[1] for nodeid in with_answer] == ["test_items_are_a_teapot"]


def test_charts_are_inline_svg_and_the_latency_chart_carries_the_budget(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE)
    _, page = run_with_html(pytester, demo_url)
    section = staging_section(page)

    for chart_id in ("staging-chart-pass-rate", "staging-chart-latency"):
        figure = re.search(
            rf'<figure class="staging-chart" id="{chart_id}">(.*?)</figure>', section, re.DOTALL
        )
        assert figure, chart_id
        assert "<svg" in figure.group(1)
        assert not re.search(r'(?:src|href)="https?:', figure.group(1))


def test_the_latency_chart_nests_p50_p95_p99_and_marks_the_budget() -> None:
    summary = {
        "GET /slow": {"p50_ms": 120.0, "p95_ms": 250.5, "p99_ms": 300.0, "budget_ms": 200},
        "GET /fast": {"p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0},
    }

    figure = charts.latency(summary)

    assert figure is not None
    tips = re.findall(r"<title>(.*?)</title>", figure)
    assert tips == [
        "GET /slow: p99 300 ms",
        "GET /slow: p95 250.5 ms",
        "GET /slow: p50 120 ms",
        "GET /slow: budget 200 ms",
        "GET /fast: p99 3 ms",
        "GET /fast: p95 2 ms",
        "GET /fast: p50 1 ms",
    ]
    drawn = r'<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"[^>]*><title>'
    slow_p99, slow_p95, slow_p50, budget = (float(w) for w in re.findall(drawn, figure)[:4])
    assert slow_p99 > slow_p95 > slow_p50
    assert budget == 3  # a marker, placed at 200 ms of an axis that ends at 500 ms
    assert ">500 ms</text>" in figure


def test_the_pass_rate_chart_skips_categories_that_ran_nothing_and_colours_by_the_gate() -> None:
    results = (
        CategoryResult("smoke", passed=9, failed=1, threshold=100.0, required=True),
        CategoryResult("integration", passed=3, threshold=95.0),
        CategoryResult("security", threshold=100.0),
    )

    figure = charts.pass_rates(results)

    assert figure is not None
    assert re.findall(r"<title>(.*?)</title>", figure) == [
        "smoke: pass rate 90%",
        "smoke: threshold 100%",
        "integration: pass rate 100%",
        "integration: threshold 95%",
    ]
    assert '<text x="' in figure
    assert "90% FAIL" in figure
    assert "100% OK" in figure
    assert charts.pass_rates(results[2:]) is None


def test_a_long_load_run_is_drawn_from_a_bounded_number_of_points() -> None:
    history = [
        {"t": float(t), "users": 5, "rps": 100.0 + t % 7, "p95_ms": 7} for t in range(1, 3601)
    ]

    figure = charts.load_history({"name": "an hour", "history": history}, 3)

    assert figure is not None
    assert figure.startswith('<figure class="staging-chart" id="staging-chart-load-3">')
    lines = re.findall(r'<polyline points="([^"]+)"', figure)
    assert [len(line.split()) for line in lines] == [charts.HISTORY_POINTS] * 2
    assert ">3600 s</text>" in figure
    assert charts.load_history({"name": "none", "history": []}, 0) is None


def test_chart_labels_are_masked_and_escaped() -> None:
    redactor.register(["s3cr3t-token"])
    try:
        figure = charts.latency(
            {"GET /a/s3cr3t-token/<b>": {"p50_ms": 1, "p95_ms": 2, "p99_ms": 3}}
        )
    finally:
        redactor.clear()

    assert figure is not None
    assert "s3cr3t-token" not in figure
    assert "GET /a/***/&lt;b&gt;" in figure


def test_without_html_or_without_pytest_html_nothing_of_ours_is_registered(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE.replace("n != 2", "n != 5"))
    plain = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "-p", "no:html")
    untargeted_test = pytester.makepyfile(test_untargeted="def test_plain():\n    pass\n")
    untargeted = pytester.runpytest(*INNER_RUN_OPTIONS, "--html=report.html", untargeted_test)

    assert plain.ret == 0
    assert untargeted.ret == 0
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    assert "test_untargeted.py::test_plain" in page
    assert 'id="staging-gate"' not in page


SKIPS_AN_HTTPS_CHECK = """
import pytest

@pytest.mark.smoke
def test_health(staging_client):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.security
def test_hsts():
    pytest.skip("the target is plain HTTP and [security] https = \\"optional\\"")
"""


def test_the_notes_and_the_error_rate_follow_the_reasons(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(SKIPS_AN_HTTPS_CHECK)
    result, page = run_with_html(pytester, demo_url, "--staging-max-error-rate=0.1")
    section = staging_section(page)

    note = 'security: 1 skipped: the target is plain HTTP and [security] https = "optional"'
    assert result.ret == 0
    assert f'<div id="staging-notes"><h4>Notes</h4><ul><li>{html.escape(note)}</li></ul></div>' in (
        section
    )
    assert (
        '<p id="staging-error-rate">error rate 0% (0 of 1 requests failed), '
        "max_error_rate 0.1%: OK</p>"
    ) in section
    assert section.index("staging-notes") < section.index("staging-gate-table")
