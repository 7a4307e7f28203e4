"""Manifests and schema files that would hang or exhaust a run: FIFOs, devices, huge files,
deep nesting, a byte-order mark. Each is one line naming the file, exit 4, and the run's JSON
report is still written with the NO-GO. (Unit-level parsing errors: test_manifest.py.)"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest
from inner_run import INNER_RUN_OPTIONS

from pytest_staging import files
from pytest_staging.manifest import builder  # noqa: F401  (loaded once, outside the in-process runs)

if TYPE_CHECKING:
    from pathlib import Path

PASSING_SMOKE_TEST = """
import pytest

@pytest.mark.smoke
def test_fine():
    pass
"""
UNUSED_URL = "--staging-url=http://127.0.0.1:9"
"""A usage error stops the run before any request: nothing listens there."""


def _run_with_manifest(pytester: pytest.Pytester, manifest: Path) -> pytest.RunResult:
    pytester.makepyfile(PASSING_SMOKE_TEST)
    return pytester.runpytest(
        *INNER_RUN_OPTIONS, UNUSED_URL, f"--staging-manifest={manifest}", "--staging-report=r.json"
    )


def _assert_refused(pytester: pytest.Pytester, result: pytest.RunResult, problem: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: invalid manifest, --staging-manifest (*", problem])
    assert "Traceback" not in result.stderr.str()
    report = json.loads((pytester.path / "r.json").read_text(encoding="utf-8"))
    assert report["verdict"] == "NO-GO"


def test_a_fifo_as_manifest_is_refused_at_once_instead_of_waiting_for_a_writer(
    pytester: pytest.Pytester,
) -> None:
    fifo = pytester.path / "staging.fifo"
    os.mkfifo(fifo)
    result = _run_with_manifest(pytester, fifo)
    _assert_refused(
        pytester, result, "  cannot read it: it is a FIFO, not a regular file: name a file"
    )


def test_dev_zero_as_manifest_is_refused_instead_of_read_until_memory_runs_out(
    pytester: pytest.Pytester,
) -> None:
    result = _run_with_manifest(pytester, pytester.path / "/dev/zero")
    _assert_refused(
        pytester,
        result,
        "  cannot read it: it is a character device, not a regular file: name a file",
    )


def test_a_manifest_over_the_size_limit_is_refused_unread(pytester: pytest.Pytester) -> None:
    big = pytester.path / "big.toml"
    big.write_bytes(b"#" * (files.MAX_MANIFEST_BYTES + 1))
    result = _run_with_manifest(pytester, big)
    _assert_refused(
        pytester, result, "  cannot read it: it is larger than 1024 KiB, the most that is read"
    )


def test_a_3000_deep_array_is_a_manifest_error_not_an_internal_error(
    pytester: pytest.Pytester,
) -> None:
    deep = pytester.path / "deep.toml"
    deep.write_text("a = " + "[" * 3000 + "]" * 3000 + "\n", encoding="utf-8")
    result = _run_with_manifest(pytester, deep)
    _assert_refused(
        pytester,
        result,
        "  values are nested too deeply to read: a manifest needs a few levels at most",
    )


def test_a_byte_order_mark_is_named_as_such(pytester: pytest.Pytester) -> None:
    bom = pytester.path / "bom.toml"
    bom.write_bytes(b'\xef\xbb\xbf[service]\nname = "orders"\n')
    result = _run_with_manifest(pytester, bom)
    _assert_refused(
        pytester,
        result,
        "  not valid TOML: the file starts with a byte-order mark (BOM); save it as UTF-8 without BOM",
    )


@pytest.mark.parametrize(
    ("schema_file", "problem"),
    [
        ("/dev/zero", "it is a character device, not a regular file: name a file"),
        ("schemas", "it is a directory, not a regular file: name a file"),
    ],
    ids=["device", "directory"],
)
def test_a_schema_file_that_is_not_a_file_names_the_key_and_the_file(
    pytester: pytest.Pytester, schema_file: str, problem: str
) -> None:
    (pytester.path / "schemas").mkdir()
    manifest = pytester.makefile(".toml", staging=f'[envelope]\nschema = "{schema_file}"\n')
    result = _run_with_manifest(pytester, manifest)
    _assert_refused(pytester, result, f"  envelope.schema: cannot read *: {problem}")


def test_a_deeply_nested_schema_file_names_the_key_and_the_file(pytester: pytest.Pytester) -> None:
    (pytester.path / "deep.json").write_text(
        '{"items": ' + "[" * 5000 + "]" * 5000 + "}", encoding="utf-8"
    )
    manifest = pytester.makefile(".toml", staging='[envelope]\nschema = "deep.json"\n')
    result = _run_with_manifest(pytester, manifest)
    _assert_refused(pytester, result, "  envelope.schema: *deep.json is nested too deeply to read")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("fifo", "it is a FIFO, not a regular file: name a file"),
        ("/dev/zero", "it is a character device, not a regular file: name a file"),
        ("load", "it is a directory, not a regular file: name a file"),
    ],
    ids=["fifo", "device", "directory"],
)
def test_a_locustfile_that_is_not_a_file_is_refused_at_start(
    pytester: pytest.Pytester, name: str, problem: str
) -> None:
    os.mkfifo(pytester.path / "fifo")
    (pytester.path / "load").mkdir()
    manifest = pytester.makefile(".toml", staging=f'[load]\nlocustfile = "{name}"\n')
    result = _run_with_manifest(pytester, manifest)
    _assert_refused(pytester, result, f"  load.locustfile: cannot read *{name}: {problem}")
