"""The HTML report in a real browser: a GO and a NO-GO run against the bundled demo, each
report opened in headless Chromium, checked for what a person signs off from.

Playwright's Python package drives Debian's Chromium (`/usr/bin/chromium`, or
`STAGING_CHROMIUM`); no browser is ever downloaded. Without Chromium or
Playwright these tests skip locally and fail in CI (`CI` set), as the JUnit XSD
tests do. Each report gets a fresh profile, and its full-page screenshot lands in
`STAGING_TEST_ARTEFACTS` (the test's tmp_path when unset).
"""

from __future__ import annotations

import colorsys
import contextlib
import os
import re
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import pytest
from inner_run import INNER_RUN_OPTIONS

from pytest_staging.gate import percent_or_dash

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from playwright.sync_api import (
        BrowserContext,
        ConsoleMessage,
        Error,
        Page,
        Request,
        ViewportSize,
    )

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
OFFLINE_SCHEMES = ("file:", "data:", "about:")
CHART_WIDTH = (300, 2000)
CHART_HEIGHT = (100, 2000)
CHART_SHAPES = "rect, path, circle, line, polyline, polygon"
MIN_SHAPES = 5
MIN_SCREENSHOT_BYTES = 20_000
Report = dict[str, Any]


@pytest.fixture(scope="module")
def chromium() -> str:
    """Chromium's path, once Playwright and the browser are known to be there."""
    wanted = os.environ.get("STAGING_CHROMIUM") or CHROMIUM
    found = shutil.which(wanted)
    if found is None:
        message = (
            f"no Chromium at {wanted}: install Debian's chromium: apt-get install chromium "
            "(or name another build in STAGING_CHROMIUM; never `playwright install`)"
        )
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError as error:
            message = (
                f"the playwright Python package is missing ({error}): pip install -e '.[test]'"
            )
        else:
            return found
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@dataclass
class BrowserLog:
    """What the page did besides rendering: its errors and every URL it asked for."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console error: {message.text} ({message.location})")

    def page_error(self, error: Error) -> None:
        self.errors.append(f"uncaught: {error.name}: {error.message}")

    def request(self, request: Request) -> None:
        self.requests.append(request.url)

    def not_offline(self) -> list[str]:
        return [url for url in self.requests if not url.startswith(OFFLINE_SCHEMES)]


@contextlib.contextmanager
def opened(chromium: str, profile: Path, report: Path) -> Iterator[tuple[Page, BrowserLog]]:
    """The report in a fresh headless Chromium profile, with its errors and requests logged."""
    from playwright.sync_api import sync_playwright

    log = BrowserLog()
    with sync_playwright() as playwright:
        context: BrowserContext = playwright.chromium.launch_persistent_context(
            user_data_dir=profile,
            executable_path=chromium,
            headless=True,
            args=BROWSER_ARGS,
            viewport=VIEWPORT,
        )
        try:
            context.on("request", log.request)
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", log.console)
            page.on("pageerror", log.page_error)
            page.goto(report.as_uri(), wait_until="load")
            yield page, log
        finally:
            context.close()


def run_against_the_demo(
    pytester: pytest.Pytester, demo: str, read_report: Callable[[Path], Report]
) -> tuple[pytest.RunResult, Path, Report]:
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        "--staging-suites",
        demo,
        "--html=report.html",
        "--self-contained-html",
        "--staging-report=gate.json",
    )
    return result, pytester.path / "report.html", read_report(pytester.path / "gate.json")


def rgb(css: str) -> tuple[int, ...]:
    """`rgb(47, 133, 90)` or `rgba(...)` as its three channels."""
    inside = css[css.index("(") + 1 : css.index(")")]
    return tuple(int(float(part)) for part in inside.split(",")[:3])


def luminance(colour: tuple[int, ...]) -> float:
    """WCAG's relative luminance."""
    linear = [
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        for c in (channel / 255 for channel in colour)
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: tuple[int, ...], other: tuple[int, ...]) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def check_verdict(page: Page, verdict: str) -> None:
    from playwright.sync_api import expect

    section = page.locator("section#staging-gate")
    expect(section).to_have_attribute("data-verdict", verdict)
    expect(section).to_have_class("staging-go" if verdict == "GO" else "staging-no-go")
    heading = section.locator("h2.staging-verdict")
    expect(heading).to_be_visible()
    expect(heading).to_have_text(f"Staging gate: {verdict}")  # the word, readable without colour
    styles = heading.evaluate(
        "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.color]; }"
    )
    background, text = rgb(styles[0]), rgb(styles[1])
    hue, _, saturation = colorsys.rgb_to_hls(*(channel / 255 for channel in background))
    degrees = hue * 360
    assert saturation > 0.3, f"{verdict} heading in a grey {styles[0]}"
    if verdict == "GO":
        assert 90 <= degrees <= 170, f"GO heading is not green: {styles[0]} (hue {degrees:.0f})"
    else:
        assert min(degrees, 360 - degrees) <= 15, f"NO-GO heading is not red: {styles[0]}"
    # large bold text: WCAG AA asks for 3:1
    assert contrast(background, text) >= 3, f"verdict text {styles[1]} on {styles[0]}"


def check_reasons(page: Page, report: Report) -> None:
    from playwright.sync_api import expect

    reasons = page.locator("#staging-reasons li")
    expect(reasons).to_have_count(len(report["reasons"]))
    for item in reasons.all():
        expect(item).to_be_visible()
    assert reasons.all_inner_texts() == report["reasons"]


def check_no_go_reasons(report: Report) -> None:
    """The reasons gate.json's own facts call for, nothing missing and nothing else: first
    what broke, each failed test with its cause (the critical ones said so first), then one
    reason per load run that broke a limit and one per category under its threshold."""
    failed = sorted(
        (test for test in report["tests"] if test["outcome"] in ("failed", "error")),
        key=lambda test: not test["critical"],
    )
    broke = [
        f"{'critical test failed: ' if test['critical'] else test['outcome'].upper() + ' '}"
        f"{test['nodeid']}: {test['cause']}"
        for test in failed
    ]
    loads = [f"performance: load {run['name']}: " for run in report["load"] if not run["ok"]]
    under = [
        f"{name}: pass rate "
        for name, counts in report["categories"].items()
        if counts["status"] == "FAIL"
    ]
    reasons = report["reasons"]
    assert broke, reasons
    assert broke[0].startswith("critical test failed: "), reasons
    assert loads, reasons
    assert reasons[: len(broke)] == broke
    rest = reasons[len(broke) :]
    assert len(rest) == len(loads) + len(under), rest
    for start in loads + under:
        assert sum(reason.startswith(start) for reason in rest) == 1, (start, rest)


def expected_cells(counts: Report) -> list[str]:
    """passed, failed, errors, skipped (with xfailed) and the rate, as the gate table shows them."""
    numbers = (counts["passed"], counts["failed"], counts["errors"])
    skipped = counts["skipped"] + counts["xfailed"]
    return [*(str(number) for number in (*numbers, skipped)), percent_or_dash(counts["pass_rate"])]


def check_gate_table(page: Page, report: Report) -> None:
    from playwright.sync_api import expect

    table = page.locator("table#staging-gate-table")
    expect(table).to_be_visible()
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(len(report["categories"]))
    for name, counts in report["categories"].items():
        row = table.locator(f'tbody tr[data-category="{name}"]')
        expect(row).to_be_visible()
        cells = row.locator("td").all_inner_texts()
        assert cells == [
            name,
            *expected_cells(counts),
            percent_or_dash(counts["threshold"]),
            counts["status"],
        ], f"gate table row {name} against gate.json"
    total = table.locator("tfoot tr td").all_inner_texts()
    assert total[1:6] == expected_cells(report["totals"])
    assert total[-1] == report["verdict"]
    expect(page.locator("table#staging-audit")).to_be_visible()


def check_charts(page: Page, report: Report) -> None:
    from playwright.sync_api import expect

    figures = page.locator("#staging-charts figure.staging-chart")
    expected = [
        "staging-chart-pass-rate",
        "staging-chart-latency",
        *(f"staging-chart-load-{index}" for index in range(len(report["load"]))),
    ]
    assert [figure.get_attribute("id") for figure in figures.all()] == expected
    for chart_id in expected:
        svg = page.locator(f"#{chart_id} > svg")
        expect(svg).to_have_count(1)
        expect(svg).to_be_visible()
        box = svg.bounding_box()
        assert box is not None, f"{chart_id}: the svg has no layout box"
        assert CHART_WIDTH[0] <= box["width"] <= CHART_WIDTH[1], f"{chart_id}: {box}"
        assert CHART_HEIGHT[0] <= box["height"] <= CHART_HEIGHT[1], f"{chart_id}: {box}"
        shapes = svg.locator(CHART_SHAPES).count()
        assert shapes > MIN_SHAPES, f"{chart_id}: only {shapes} shapes drawn"
    labels = page.locator("#staging-chart-pass-rate svg text").all_text_contents()
    assert set(report["categories"]) <= set(labels), "every category labelled in the chart"


def check_results_table(page: Page, report: Report) -> None:
    """pytest-html's script drew a row per test; a failed test shows the target's last answer,
    collapses on a click and opens again; a passed test's requests open on a click."""
    from playwright.sync_api import expect

    rows = page.locator("#results-table tbody.results-table-row")
    expect(rows).to_have_count(len(report["tests"]))

    def body(nodeid: str) -> Any:
        return page.locator(f'#results-table tbody[id="{nodeid}"]').first

    failed = [test["nodeid"] for test in report["tests"] if test["outcome"] == "failed"]
    for nodeid in failed:
        expect(body(nodeid)).to_have_class(re.compile(r"\bfailed\b"))
    answered = [nodeid for nodeid in failed if body(nodeid).locator(".staging-answer").count()]
    if report["verdict"] == "NO-GO":
        assert answered, f"no failed test shows the target's last answer: {failed}"
    for nodeid in answered[:1]:
        answer = body(nodeid).locator(".staging-answer pre")
        expect(answer).to_be_visible()  # failed tests open by default
        body(nodeid).locator(".collapsible td.col-result").click()
        expect(answer).to_be_hidden()
        body(nodeid).locator(".collapsible td.col-result").click()
        expect(answer).to_be_visible()
        expect(answer).not_to_be_empty()

    called = next(
        (
            test["nodeid"]
            for test in report["tests"]
            if test["outcome"] == "passed" and test["requests"] > 0
        ),
        None,
    )
    assert called is not None, "no passed test called the target"
    requests = body(called).locator("table.staging-requests")
    expect(requests).to_be_hidden()  # passed tests start collapsed
    body(called).locator(".collapsible td.col-result").click()
    expect(requests).to_be_visible()
    expect(requests.locator("tbody tr").first).to_be_visible()


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


class Run(NamedTuple):
    demo: str
    verdict: str
    exit_code: int


@pytest.mark.parametrize(
    "run",
    [Run("--staging-demo", "GO", 0), Run("--staging-demo=degraded", "NO-GO", 1)],
    ids=["go", "no-go"],
)
def test_the_report_of_a_real_run_reads_right_in_chromium(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    chromium: str,
    tmp_path: Path,
    run: Run,
) -> None:
    verdict = run.verdict
    result, html, report = run_against_the_demo(pytester, run.demo, read_report)
    assert result.ret == run.exit_code, result.stdout.str()
    assert report["verdict"] == verdict
    if verdict == "NO-GO":  # a failing health check, a failing cache check, a failing load run
        check_no_go_reasons(report)

    artefacts = Path(os.environ.get("STAGING_TEST_ARTEFACTS") or tmp_path)
    artefacts.mkdir(parents=True, exist_ok=True)
    name = f"report-{verdict.lower()}"
    shutil.copyfile(html, artefacts / f"{name}.html")
    screenshot = artefacts / f"{name}.png"
    screenshot.unlink(missing_ok=True)

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with opened(chromium, tmp_path / "chromium-profile", html) as (page, log):
        try:  # pytest-html's script draws the results table
            page.locator("#results-table tbody.results-table-row").first.wait_for(timeout=10_000)
        except PlaywrightTimeout:
            pytest.fail(f"pytest-html drew no results; page errors: {log.errors}", pytrace=False)
        page.screenshot(path=screenshot, full_page=True)  # before the checks: kept on failure
        check_verdict(page, verdict)
        check_reasons(page, report)
        check_gate_table(page, report)
        check_charts(page, report)
        check_results_table(page, report)

    assert log.not_offline() == [], "the self-contained report fetched from the network"
    assert log.errors == [], "the page logged JavaScript errors"
    assert log.requests[0] == html.as_uri()
    assert screenshot.stat().st_size > MIN_SCREENSHOT_BYTES
    width, height = png_size(screenshot)
    assert width == VIEWPORT["width"]
    assert height > VIEWPORT["height"], "a full-page screenshot, taller than the viewport"
