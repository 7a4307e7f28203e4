"""The CI recipes: docs/ci.md shows the example files as they are, GitHub's and GitLab's
schemas accept them, and the gate they run uses real options and keeps its reports."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from ruamel.yaml import YAML

from pytest_staging.settings.options import OPTIONS

if TYPE_CHECKING:
    from collections.abc import Iterator

ROOT = Path(__file__).resolve().parent.parent
CI_GUIDE = ROOT / "docs" / "ci.md"
EXAMPLES = ROOT / "docs" / "examples"
GITHUB = EXAMPLES / "github-staging-gate.yml"
GITLAB = EXAMPLES / "gitlab-staging-gate.yml"

YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```$", re.MULTILINE | re.DOTALL)
EXAMPLE_NAME = re.compile(r"docs/examples/[\w.-]+\.ya?ml")
# The options that write the three artefacts, and the one that writes the Markdown verdict.
ARTEFACT_OPTIONS = ("--html", "--staging-report", "--junitxml")
SUMMARY_OPTION = "--staging-summary-md"
TOKEN = next(option for option in OPTIONS if option.name == "token")

T = TypeVar("T")


def read(path: Path) -> str:
    """The file's text exactly as stored: no newline translation."""
    return path.read_bytes().decode("utf-8")


def load(path: Path) -> dict[str, Any]:
    document = YAML(typ="safe").load(read(path))
    assert isinstance(document, dict), f"{path} is not a YAML mapping"
    return document


def embedded_examples(guide: str) -> list[tuple[str, str]]:
    """(example file, block) for each yaml block whose last non-empty line before names one."""
    found = []
    for block in YAML_BLOCK.finditer(guide):
        line_before = guide[: block.start()].rstrip("\n").rsplit("\n", 1)[-1]
        names = EXAMPLE_NAME.findall(line_before)
        assert len(names) <= 1, f"the line before a yaml block names several files: {line_before}"
        if names:
            found.append((names[0], block.group(1)))
    return found


def pytest_commands(script: str) -> Iterator[list[str]]:
    """The arguments of each `pytest` command of a shell script, continued lines joined."""
    for line in script.replace("\\\n", " ").splitlines():
        if line.strip().startswith("pytest "):
            yield shlex.split(line)


def the_one(found: list[T], what: str) -> T:
    assert len(found) == 1, f"expected exactly one {what}, found {len(found)}: {found}"
    return found[0]


def github_gate(workflow: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The step that runs the gate, and its pytest command."""
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    found = [(step, command) for step in steps for command in pytest_commands(step.get("run", ""))]
    return the_one(found, "pytest command in the GitHub workflow")


def gitlab_gate(pipeline: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The job that runs the gate, and its pytest command."""
    jobs = [job for job in pipeline.values() if isinstance(job, dict) and "script" in job]
    found = [
        (job, command)
        for job in jobs
        for line in job["script"]
        for command in pytest_commands(line)
    ]
    return the_one(found, "pytest command in the GitLab pipeline")


def value_of(command: list[str], option: str) -> str:
    """The value of `--option=value` in a command."""
    values = [arg.split("=", 1)[1] for arg in command if arg.startswith(f"{option}=")]
    return the_one(values, f"{option}=VALUE in {shlex.join(command)}")


def test_the_guide_shows_each_example_file_byte_for_byte() -> None:
    """docs/ci.md cannot drift from the files people copy: each is shown once, unchanged."""
    examples = sorted(str(path.relative_to(ROOT)) for path in EXAMPLES.glob("*.yml"))
    assert {str(GITHUB.relative_to(ROOT)), str(GITLAB.relative_to(ROOT))} <= set(examples)

    shown = embedded_examples(read(CI_GUIDE))

    assert sorted(name for name, _ in shown) == examples
    for name, block in shown:
        assert block == read(ROOT / name), f"the yaml block after the line naming {name} differs"


@pytest.mark.parametrize(
    ("example", "schema"),
    [(GITHUB, "vendor.github-workflows"), (GITLAB, "vendor.gitlab-ci")],
    ids=["github", "gitlab"],
)
def test_the_ci_schema_accepts_the_example(example: Path, schema: str) -> None:
    """Each file validates against its CI's schema, as vendored by check-jsonschema (offline)."""
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(example)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "validation done" in result.stdout


def test_both_recipes_run_the_same_gate() -> None:
    """Same command in both; GitLab, which has no job summary, adds the Markdown file."""
    _, github = github_gate(load(GITHUB))
    _, gitlab = gitlab_gate(load(GITLAB))

    assert github[0] == "pytest"
    assert "--staging-suites" in github
    assert "--self-contained-html" in github
    for option in ARTEFACT_OPTIONS:
        value_of(github, option)
    assert [arg for arg in gitlab if not arg.startswith(f"{SUMMARY_OPTION}=")] == github
    value_of(gitlab, SUMMARY_OPTION)


def test_every_staging_option_of_the_recipes_is_a_plugin_option() -> None:
    """No `--staging-*` name that the plugin does not register, and no secret on a command line."""
    flags = {option.flag for option in OPTIONS}
    used = {
        arg.split("=", 1)[0]
        for command in (github_gate(load(GITHUB))[1], gitlab_gate(load(GITLAB))[1])
        for arg in command
        if arg.startswith("--staging-")
    }

    assert {"--staging-suites", "--staging-url", "--staging-report", SUMMARY_OPTION} <= used
    assert used <= flags, f"not options of the plugin: {sorted(used - flags)}"
    assert not used & {"--staging-token", "--staging-header"}


@pytest.mark.parametrize("example", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_pytest_accepts_the_recipe_command(pytester: pytest.Pytester, example: Path) -> None:
    """pytest, pytest-xdist, pytest-html and the plugin parse every argument and value, and the
    bundled suites are collected: a usage error would exit 4."""
    document = load(example)
    _, command = github_gate(document) if example == GITHUB else gitlab_gate(document)
    arguments = [
        Template(arg).substitute(STAGING_URL="https://staging.example.com") for arg in command[1:]
    ]

    result = pytester.runpytest_subprocess(*arguments, "--collect-only", "-q")

    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(["* tests collected *"])


def test_the_github_step_gets_its_url_and_token_from_the_environment() -> None:
    """The token comes from a secret through the variable the plugin reads; every variable the
    command uses is set by the step."""
    step, command = github_gate(load(GITHUB))
    env = step.get("env", {})

    assert re.fullmatch(r"\$\{\{ secrets\.\w+ \}\}", env.get(TOKEN.env_var, "")), env
    variables = {name for arg in command for name in re.findall(r"\$\{?(\w+)", arg)}
    assert variables, "the command takes the URL from a variable"
    assert variables <= set(env), f"not set by the step: {sorted(variables - set(env))}"


def test_the_github_workflow_uploads_the_reports_also_after_a_no_go() -> None:
    """A NO-GO fails the gate step; the upload runs anyway and takes each file the gate wrote."""
    workflow = load(GITHUB)
    _, command = github_gate(workflow)
    uploads = [
        step
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("actions/upload-artifact@")
    ]
    upload = the_one(uploads, "upload-artifact step")

    assert upload["uses"] == "actions/upload-artifact@v4"
    assert upload["if"] == "always()"
    uploaded = set(upload["with"]["path"].split())
    assert {value_of(command, option) for option in ARTEFACT_OPTIONS} <= uploaded


def test_the_gitlab_job_keeps_the_reports_also_after_a_no_go() -> None:
    """`when: always` keeps the files after a failed job; junit.xml feeds the Tests tab."""
    job, command = gitlab_gate(load(GITLAB))
    artifacts = job["artifacts"]

    assert artifacts["when"] == "always"
    assert artifacts["expire_in"]
    assert artifacts["reports"]["junit"] == value_of(command, "--junitxml")
    wanted = {value_of(command, option) for option in (*ARTEFACT_OPTIONS, SUMMARY_OPTION)}
    assert wanted <= set(artifacts["paths"])
    assert TOKEN.env_var in read(GITLAB), "the file says where the token comes from"
