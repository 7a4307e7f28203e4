"""JUnit XML: the verdict and category rates as testsuite properties, valid against the JUnit XSD.

The XSD is the one pytest's own tests validate against (`junit-10.xsd` from
pytest's source distribution). `.ci/run` fetches it from PyPI and names it in
`JUNIT_XSD`; without it these tests skip locally and fail in CI. As in pytest's own
tests, only the `xunit2` family is validated (`xunit1` adds attributes the XSD forbids).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from inner_run import INNER_RUN_OPTIONS, ONE_FAILURE_IN_THREE


@pytest.fixture(scope="module")
def junit_schema() -> object:
    xsd = os.environ.get("JUNIT_XSD", "")
    if not xsd:
        message = "JUNIT_XSD is not set: .ci/run fetches pytest's junit-10.xsd and sets it"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    xmlschema = pytest.importorskip("xmlschema")
    return xmlschema.XMLSchema(Path(xsd))


def suite_properties(path: Path) -> dict[str, str]:
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    properties = suite.find("properties")
    assert properties is not None
    return {item.get("name", ""): item.get("value", "") for item in properties}


@pytest.mark.parametrize("family", ["xunit1", "xunit2"])
@pytest.mark.parametrize("workers", ["0", "2"])
def test_the_verdict_rides_on_the_testsuite_and_the_file_validates(
    pytester: pytest.Pytester, demo_url: str, junit_schema: object, family: str, workers: str
) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE)
    result = pytester.runpytest_subprocess(
        *INNER_RUN_OPTIONS,
        f"--staging-url={demo_url}",
        "--staging-token=planted-junit-token-4711",
        "--junitxml=junit.xml",
        "-o",
        f"junit_family={family}",
        "-n",
        workers,
    )
    junit = pytester.path / "junit.xml"
    properties = suite_properties(junit)

    assert result.ret == 1
    if family == "xunit2":  # xunit1 adds file/line to each testcase, which the XSD forbids
        junit_schema.validate(str(junit))  # type: ignore[attr-defined]
    assert properties["staging_verdict"] == "NO-GO"
    assert properties["staging_exit_code"] == "1"
    assert properties["staging_target"] == demo_url
    assert properties["staging_reason_1"].endswith(
        "::test_sums[2]: AssertionError: two is not allowed"
    )
    assert properties["staging_reason_2"].startswith("integration: pass rate 66.7% (2 of 3)")
    assert properties["staging_integration_pass_rate"] == "66.7%"
    assert properties["staging_integration_threshold"] == "95%"
    assert properties["staging_integration_result"] == "FAIL"
    assert properties["staging_smoke_result"] == "OK"
    assert properties["staging_total_result"] == "NO-GO"
    assert "planted-junit-token-4711" not in junit.read_text(encoding="utf-8")


def test_a_go_run_says_go(pytester: pytest.Pytester, demo_url: str) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE.replace("n != 2", "n != 5"))
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "--junitxml=junit.xml"
    )
    properties = suite_properties(pytester.path / "junit.xml")

    assert result.ret == 0
    assert properties["staging_verdict"] == "GO"
    assert properties["staging_total_pass_rate"] == "100%"
    assert not any(name.startswith("staging_reason") for name in properties)


def test_without_a_target_the_junit_file_is_pytests_own(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    pytester.runpytest(*INNER_RUN_OPTIONS, "--junitxml=junit.xml")
    root = ET.parse(pytester.path / "junit.xml").getroot()
    assert root.find(".//properties") is None


def test_notes_and_the_error_rate_are_properties(pytester: pytest.Pytester, demo_url: str) -> None:
    pytester.makepyfile(ONE_FAILURE_IN_THREE.replace("n != 2", "n != 5"))
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        f"--staging-url={demo_url}",
        "--junitxml=junit.xml",
        "-k",
        "sums",
        "--staging-max-error-rate=1",
    )
    properties = suite_properties(pytester.path / "junit.xml")

    assert result.ret == 0
    assert properties["staging_note_1"] == "partial run: 1 of 4 tests deselected (-k sums)"
    assert properties["staging_max_error_rate"] == "1%"
    assert properties["staging_error_rate"] == "-"  # the three sums send no request
