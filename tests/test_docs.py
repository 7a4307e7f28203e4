"""The documentation: its code samples run and do what the pages say, the options and fields it
names exist, every page is in the site's navigation, its links and anchors resolve the same way
on GitHub and in the site, and the site builds with `mkdocs build --strict`.

The Python samples live as files under docs/examples/tutorial/ and the pages include them with
pymdownx.snippets, so what runs here is what readers copy. mkdocs-material is the `docs` extra:
without it the build test skips locally and fails in CI (the env var CI is set).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from inner_run import INNER_RUN_OPTIONS

import pytest_staging
from pytest_staging import cli, manifest, plugin, schemas
from pytest_staging.demo.modes import DEMO_MODES
from pytest_staging.markers import MARKERS
from pytest_staging.settings.options import CATEGORIES_INI, OPTIONS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = DOCS / "examples" / "tutorial"
PAGES = sorted(DOCS.rglob("*.md"))

TABLE_HEADER = "category         passed failed errors skipped    rate threshold  result"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)
HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
OPTION_NAME = re.compile(r"(?<![\w#-])--staging-[a-z]+(?:-[a-z]+)*")
ENV_NAME = re.compile(r"\bPYTEST_STAGING_[A-Z][A-Z_]*[A-Z]\b")
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def outside_code(markdown: str) -> str:
    """The page without its fenced blocks and inline code spans."""
    return re.sub(r"`[^`\n]*`", "", FENCE.sub("", markdown))


def console_blocks(page: Path, command: str) -> list[str]:
    """The bodies of the page's console blocks that start with `$ command`, in page order."""
    marker = f"$ {command}\n"
    blocks = [
        body[len(marker) :]
        for kind, body in FENCE.findall(read(page))
        if kind == "console" and body.startswith(marker)
    ]
    if not blocks:
        pytest.fail(f"{page.name} has no console block that starts with `$ {command}`")
    return blocks


def table(output: str) -> list[str]:
    """The gate table's rows, header to `total`."""
    lines = output.splitlines()
    start = lines.index(TABLE_HEADER)
    end = next(n for n in range(start, len(lines)) if lines[n].startswith("total "))
    return lines[start : end + 1]


def listed(output: str, heading: str) -> list[str]:
    """A heading line (`STAGING GATE:`, `flaky, ...`) and the `  - ` lines right under it;
    none when the output has no such heading (a run without flaky tests lists none)."""
    lines = output.splitlines()
    start = next((n for n, line in enumerate(lines) if line.startswith(heading)), None)
    if start is None:
        return []
    items = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith("  - "):
            break
        items.append(line)
    return items


def verdict_matches(shown: str, output: str) -> None:
    """The verdict and its reasons as shown; a load run's numbers and readiness timings vary
    from run to run, so those two kinds of reason are compared without their numbers."""

    def loosened(line: str) -> str:
        return NUMBER.sub("N", line) if "load " in line or "not ready" in line else line

    expected, actual = listed(shown, "STAGING GATE:"), listed(output, "STAGING GATE:")
    assert [loosened(line) for line in actual] == [loosened(line) for line in expected], output


def copy_examples(destination: Path, *names: str) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(EXAMPLES / name, destination / Path(name).name)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading; mkdocs.yml makes the site use the same
    (pymdownx.slugs.slugify with case: lower)."""
    text = re.sub(r"<[^>]*>", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> list[str]:
    return [slug(heading) for heading in HEADING.findall(FENCE.sub("", read(page)))]


# --- the tutorial, and the gate page's unready target -------------------------------------

TUTORIAL = DOCS / "tutorial.md"


def test_the_tutorial_s_first_run_on_the_demo_is_a_go(pytester: pytest.Pytester) -> None:
    (shown,) = console_blocks(TUTORIAL, "pytest --staging-suites --staging-demo")

    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-suites", "--staging-demo")

    assert result.ret == 0, result.stdout.str()
    assert table(result.stdout.str()) == table(shown)
    assert listed(result.stdout.str(), "STAGING GATE:") == ["STAGING GATE: GO"]
    assert "collected 40 items" in shown
    result.stdout.fnmatch_lines(["collected 40 items"])


def test_the_tutorial_s_broken_deployment_is_a_no_go(pytester: pytest.Pytester) -> None:
    command = "pytest --staging-suites --staging-demo=degraded --tb=no"
    (shown,) = console_blocks(TUTORIAL, command)

    result = pytester.runpytest(*INNER_RUN_OPTIONS, *command.split()[1:])
    output = result.stdout.str()

    assert result.ret == 1, output
    assert shown.rstrip().endswith("$ echo $?\n1")
    assert table(output) == table(shown)
    assert listed(output, "flaky,") == listed(shown, "flaky,")
    verdict_matches(shown, output)


def test_the_tutorial_s_own_api_goes_from_no_go_to_go(
    pytester: pytest.Pytester, demo_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """init, a run that finds the series the demo names otherwise, the edit, a GO; then the
    first own test, a GO here and a NO-GO on the degraded demo."""
    (init_shown,) = console_blocks(TUTORIAL, "pytest-staging init --url http://127.0.0.1:8000")
    assert cli.main(["init", "--url", demo_url]) == 0
    assert capsys.readouterr().out == init_shown

    before_shown, after_shown = console_blocks(
        TUTORIAL, "pytest --staging-suites --staging-env=staging"
    )
    before = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-suites", "--staging-env=staging")
    assert before.ret == 1, before.stdout.str()
    before.stdout.fnmatch_lines(
        [line.replace("[", "[[]") for line in before_shown.splitlines() if line[:2] == "E "]
    )
    assert table(before.stdout.str()) == table(before_shown)
    verdict_matches(before_shown, before.stdout.str())

    old, new = (body for kind, body in FENCE.findall(read(TUTORIAL)) if kind == "toml")
    starter = read(pytester.path / "staging.toml")
    assert starter.count(old) == 1, "the line the tutorial changes is not in the starter"
    (pytester.path / "staging.toml").write_text(starter.replace(old, new), encoding="utf-8")
    after = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-suites", "--staging-env=staging")
    assert after.ret == 0, after.stdout.str()
    assert table(after.stdout.str()) == table(after_shown)

    copy_examples(pytester.path, "test_my_api.py")
    (own_shown,) = console_blocks(TUTORIAL, "pytest --staging-env=staging")
    own = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-env=staging")
    assert own.ret == 0, own.stdout.str()
    own.stdout.fnmatch_lines(["test_my_api.py .. *"])
    assert table(own.stdout.str()) == table(own_shown)

    (broken_shown,) = console_blocks(TUTORIAL, "pytest test_my_api.py --staging-demo=degraded")
    broken = pytester.runpytest(*INNER_RUN_OPTIONS, "test_my_api.py", "--staging-demo=degraded")
    assert broken.ret == 1, broken.stdout.str()
    failure = re.split(r"^\.\.\.$", broken_shown, flags=re.MULTILINE)[1].splitlines()
    assert "E       AssertionError: GET /health: expected status 200, got 503" in failure
    broken.stdout.fnmatch_lines([line.replace("[", "[[]") for line in failure if line.strip()])
    assert table(broken.stdout.str()) == table(broken_shown)
    verdict_matches(broken_shown, broken.stdout.str())


def test_the_gate_page_s_unready_target_stops_the_run_with_69(pytester: pytest.Pytester) -> None:
    command = "pytest --staging-demo=degraded --staging-wait=2"
    (shown,) = console_blocks(DOCS / "gate.md", command)

    result = pytester.runpytest(*INNER_RUN_OPTIONS, *command.split()[1:])

    assert result.ret == 69, result.stdout.str()
    assert table(result.stdout.str()) == table(shown)
    verdict_matches(shown, result.stdout.str())


# --- how-to guides ----------------------------------------------------------------------------

OWN_TESTS = DOCS / "howto" / "own-tests.md"
OWN_TEST_FILES = ("own_tests/conftest.py", "own_tests/test_items.py")


def test_the_own_tests_example_is_a_go_and_withholds_its_write_elsewhere(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    copy_examples(pytester.path / "tests" / "staging", *OWN_TEST_FILES)
    (shown,) = console_blocks(OWN_TESTS, "pytest tests/staging --staging-demo")

    result = pytester.runpytest(*INNER_RUN_OPTIONS, "tests/staging", "--staging-demo")

    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["collected 5 items", "tests/staging/test_items.py ..... *"])
    assert table(result.stdout.str()) == table(shown)

    (withheld_shown,) = console_blocks(
        OWN_TESTS, "pytest tests/staging --staging-url=http://127.0.0.1:8000 -rs"
    )
    withheld = pytester.runpytest(
        *INNER_RUN_OPTIONS, "tests/staging", f"--staging-url={demo_url}", "-rs"
    )
    assert withheld.ret == 0, withheld.stdout.str()
    skipped = [line for line in withheld_shown.splitlines() if line.startswith("SKIPPED")]
    withheld.stdout.fnmatch_lines([line.replace("[", "[[]") for line in skipped])
    assert withheld.parseoutcomes() == {"passed": 4, "skipped": 1}


def test_the_own_tests_example_gives_the_same_verdict_under_xdist(
    pytester: pytest.Pytester,
) -> None:
    copy_examples(pytester.path / "tests" / "staging", *OWN_TEST_FILES)
    (shown,) = console_blocks(
        DOCS / "howto" / "xdist.md", "pytest tests/staging --staging-demo -n 2"
    )

    result = pytester.runpytest_subprocess(
        *INNER_RUN_OPTIONS, "tests/staging", "--staging-demo", "-n", "2"
    )

    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["2 workers [[]5 items]"])
    assert table(result.stdout.str()) == table(shown)


def test_the_performance_examples_pass_against_the_demo(pytester: pytest.Pytester) -> None:
    """Every sample of performance.md; the distributed one needs locust workers on other
    machines, so it is only collected (tests/test_load.py runs a distributed load)."""
    names = sorted(path.name for path in (EXAMPLES / "performance").glob("*.py"))
    copy_examples(pytester.path, *(f"performance/{name}" for name in names))
    distributed = "test_load_distributed.py::test_load_from_two_workers"

    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-demo", "--deselect", distributed)

    assert result.ret == 0, result.stdout.str()
    assert result.parseoutcomes()["passed"] == 6, result.stdout.str()
    result.stdout.fnmatch_lines(["STAGING GATE: GO"])
    collected = pytester.runpytest(*INNER_RUN_OPTIONS, "--collect-only", "-q", distributed)
    assert collected.ret == 0, collected.stdout.str()


def test_the_manifest_how_to_builds_one_valid_manifest(tmp_path: Path) -> None:
    page = read(DOCS / "howto" / "manifest.md")
    toml = [body for kind, body in FENCE.findall(page) if kind == "toml"]
    assert len(toml) >= 5
    path = tmp_path / "staging.toml"
    path.write_text("\n".join(toml), encoding="utf-8")

    declared = manifest.load(path)

    assert set(declared.environments) == {"staging", "production"}
    assert declared.auth is not None
    assert declared.resources


# --- reference --------------------------------------------------------------------------------

REPORT_PAGE = DOCS / "reference" / "report.md"
REPORT_EXAMPLE = EXAMPLES / "gate.json"
VARYING = {"plugin_version", "started_at", "duration_s", "target", "latency", "audit"}
"""Fields of the example report that differ from run to run (times, ports, versions)."""


def without_durations(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in test.items() if key != "duration_s"} for test in tests]


def test_the_example_report_is_what_the_tutorial_s_last_run_writes(
    pytester: pytest.Pytester, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    example = read_report(REPORT_EXAMPLE)
    copy_examples(pytester.path, "test_my_api.py", "read_report.py")

    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        "test_my_api.py",
        "--staging-demo=degraded",
        "--staging-report=gate.json",
    )
    written = read_report(pytester.path / "gate.json")

    assert result.ret == 1
    for field in sorted(set(example) - VARYING - {"tests"}):
        assert written[field] == example[field], field
    assert without_durations(written["tests"]) == without_durations(example["tests"])
    assert {name: s["count"] for name, s in written["latency"].items()} == {
        name: s["count"] for name, s in example["latency"].items()
    }
    assert written["audit"].keys() == example["audit"].keys()

    (shown,) = console_blocks(REPORT_PAGE, "python read_report.py gate.json")
    printed = subprocess.run(
        [sys.executable, "read_report.py", "gate.json"],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (printed.returncode, printed.stdout) == (0, shown), printed.stderr


def schema_fields(node: Any, root: dict[str, Any]) -> Iterator[str]:
    """Every property name the report schema declares, through its `$ref`s."""
    if isinstance(node, dict):
        if "$ref" in node:
            yield from schema_fields(root["$defs"][node["$ref"].rsplit("/", 1)[1]], root)
        for name in node.get("required", ()):
            yield name
        for name, child in node.get("properties", {}).items():
            yield name
            yield from schema_fields(child, root)
        for key in ("items", "additionalProperties", "allOf"):
            yield from schema_fields(node.get(key), root)
    elif isinstance(node, list):
        for child in node:
            yield from schema_fields(child, root)


def test_the_report_reference_describes_every_field_of_the_schema() -> None:
    schema = schemas.load("report-v1")
    tables = "\n".join(line for line in read(REPORT_PAGE).splitlines() if line.startswith("|"))

    missing = sorted({name for name in schema_fields(schema, schema) if f"`{name}`" not in tables})

    assert missing == [], "fields of report-v1.json that no table of the page describes"


def test_the_reference_pages_cover_markers_fixtures_exports_and_demo_modes() -> None:
    markers = read(DOCS / "reference" / "markers.md")
    fixtures = read(DOCS / "reference" / "fixtures.md")
    exported = read(DOCS / "reference" / "assertions.md")
    demo = read(DOCS / "reference" / "demo.md")

    assert [name for name in MARKERS if f"`{name}`" not in markers] == []
    assert [name for name in plugin.__all__ if f"## `{name}`" not in fixtures] == []
    assert [name for name in pytest_staging.__all__ if name not in exported] == []
    assert [mode for mode in DEMO_MODES if f"| `{mode}` |" not in demo] == []


def test_the_assertion_failure_shown_is_the_one_the_sample_gives(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    copy_examples(pytester.path, "test_price_is_text.py")
    (shown,) = [
        body
        for kind, body in FENCE.findall(read(DOCS / "reference" / "assertions.md"))
        if kind == "text" and "test_price_is_text.py" in body
    ]

    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}")

    assert result.ret == 1
    # the body's request id and timestamp change with every answer
    lines = [re.sub(r'"meta":.*', '"meta":*', line) for line in shown.splitlines() if line]
    result.stdout.fnmatch_lines([line.replace("[", "[[]") for line in lines])


def test_the_assertion_messages_listed_are_the_helpers_own(
    demo_url: str, demo_servers: Callable[..., str]
) -> None:
    rows = re.findall(
        r"^\| `(.+?)`(, degraded)? \| `(.+)` \|$",
        read(DOCS / "reference" / "assertions.md"),
        re.MULTILINE,
    )
    assert len(rows) >= 4
    for call, degraded, message in rows:
        url = demo_servers("degraded") if degraded else demo_url
        names = {name: getattr(pytest_staging, name) for name in pytest_staging.__all__}
        with httpx.Client(base_url=url) as client, pytest.raises(AssertionError) as raised:
            eval(call, {**names, "staging_client": client})  # the page's own call, as written
        assert str(raised.value).splitlines()[0] == message


def test_options_md_lists_every_option_with_its_sources() -> None:
    page = read(DOCS / "options.md")
    rows = re.findall(
        r"^\| \[`(--staging-[a-z-]+)[^`]*`\]\(#[^)]+\) \| `(\w+)` \| (.+?) \|", page, re.M
    )

    assert [flag for flag, _, _ in rows] == [option.flag for option in OPTIONS]
    for (_, env, ini), option in zip(rows, OPTIONS, strict=True):
        assert env == option.env_var
        assert ini == (f"`{option.dest}`" if option.ini else "not read from ini files")
    assert f"`{CATEGORIES_INI}`" in page
    for option in OPTIONS:
        assert re.search(rf"^### `{option.flag}[ `\[]", page, re.M), option.flag


def usage_errors() -> list[tuple[str, str]]:
    """(command, message) of each example in options.md's "Errors" block."""
    page = read(DOCS / "options.md")
    block = FENCE.search(page, page.index("\n## Errors\n"))
    assert block is not None
    return re.findall(r"^\$ (.+)\n(ERROR: .+)$", block.group(2), re.MULTILINE)


USAGE_ERRORS = usage_errors()


@pytest.mark.parametrize(
    ("command", "message"), USAGE_ERRORS, ids=[command for command, _ in USAGE_ERRORS]
)
def test_the_usage_errors_options_md_shows_are_real(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, command: str, message: str
) -> None:
    pytester.makefile(".xml", junit="<testsuites/>")
    pytester.makefile(".json", package='{"name": "not-a-report"}')
    words = command.split()
    while "=" in words[0]:  # NAME=value before the command sets the environment
        name, _, value = words.pop(0).partition("=")
        monkeypatch.setenv(name, value)
    assert words[0] == "pytest"

    result = pytester.runpytest(*INNER_RUN_OPTIONS, *words[1:])

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.lines


def test_every_option_and_variable_the_docs_name_exists() -> None:
    flags = {option.flag for option in OPTIONS}
    variables = {option.env_var for option in OPTIONS}
    package = "\n".join(read(path) for path in (ROOT / "pytest_staging").rglob("*.py"))

    for page in PAGES:
        text = read(page)
        unknown = sorted(set(OPTION_NAME.findall(text)) - flags)
        assert unknown == [], f"{page.relative_to(ROOT)} names options that do not exist"
        strange = sorted(
            name for name in set(ENV_NAME.findall(text)) - variables if name not in package
        )
        assert strange == [], f"{page.relative_to(ROOT)} names variables nothing reads"


# --- samples, pages, links, the site -----------------------------------------------------------


def test_python_blocks_are_included_files_or_run() -> None:
    """A Python sample in a page is a file that these tests run, included by pymdownx.snippets,
    or a block that runs as it stands (an import list, say)."""
    included = set()
    for page in PAGES:
        for kind, body in FENCE.findall(read(page)):
            found = SNIPPET.findall(body)
            included.update(found)
            if kind == "python" and not found:
                exec(compile(body, f"{page.name} block", "exec"), {})
    for path in included:
        assert (ROOT / path).is_file(), f"a page includes {path}, which does not exist"
    samples = {str(path.relative_to(ROOT)) for path in EXAMPLES.rglob("*") if path.is_file()}
    assert sorted(samples - included) == [], "sample files no page shows"


def nav_pages() -> set[str]:
    config = read(ROOT / "mkdocs.yml")
    return set(
        re.findall(r"^\s*- (?:[^:\n]+: )?([\w/.-]+\.md)$", config.split("\nnav:", 1)[1], re.M)
    )


def test_every_page_is_in_the_site_s_navigation() -> None:
    pages = {str(page.relative_to(DOCS)) for page in PAGES}

    assert sorted(pages - nav_pages()) == [], "pages not in mkdocs.yml's nav"
    assert sorted(nav_pages() - pages) == [], "nav entries without a page"


def test_links_and_anchors_resolve_as_on_github() -> None:
    """mkdocs.yml gives the site GitHub's anchors, so a link that works here works in both.
    Two headings with one anchor are numbered apart differently (`-1` on GitHub, `_1` in the
    site), so none may share one."""
    broken = []
    for page in PAGES:
        own = anchors(page)
        duplicates = sorted({name for name in own if own.count(name) > 1})
        assert duplicates == [], f"{page.name}: headings that share an anchor"
        for target in LINK.findall(outside_code(read(page))):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            if not resolved.exists():
                broken.append(f"{page.relative_to(DOCS)}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                broken.append(f"{page.relative_to(DOCS)}: {target} (no such heading)")

    assert broken == []


def test_the_site_builds_with_mkdocs_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        message = "mkdocs-material is not installed: pip install -e '.[docs]' builds the site"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    site = tmp_path / "site"

    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert (site / "tutorial.html").is_file()
    assert "fonts.googleapis.com" not in read(site / "index.html")
