"""`pytest-staging init` and `locustfile`: the files they write, their validity, every refusal."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from importlib import resources
from typing import TYPE_CHECKING

import pytest

from pytest_staging import manifest, schemas
from pytest_staging.cli import DEFAULT_URL, main

if TYPE_CHECKING:
    from pathlib import Path

# A commented-out setting: "# key = value", "# [table]" or "# [[array.of.tables]]".
COMMENTED_SETTING = re.compile(r"^# ((?:[A-Za-z_][\w-]* = |\[).*)$")


def init(tmp_path: Path, *options: str) -> int:
    return main(["init", "--dir", str(tmp_path), *options])


def template(name: str) -> str:
    source = resources.files("pytest_staging").joinpath("templates").joinpath(name)
    return source.read_text(encoding="utf-8")


def uncommented(text: str) -> str:
    """The manifest with every commented-out setting switched on."""
    return "\n".join(COMMENTED_SETTING.sub(r"\1", line) for line in text.splitlines())


def test_init_writes_a_valid_manifest_and_a_conftest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert init(tmp_path) == 0

    loaded = manifest.load(tmp_path / "staging.toml")
    assert loaded.service == tmp_path.name
    assert loaded.environments["staging"].url == DEFAULT_URL
    compile((tmp_path / "conftest.py").read_text(encoding="utf-8"), "conftest.py", "exec")
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'staging.toml'}" in out
    assert f"wrote {tmp_path / 'conftest.py'}" in out
    assert "pytest --staging-suites --staging-env=staging" in out


def test_init_writes_into_the_current_directory_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["init"]) == 0

    assert sorted(p.name for p in tmp_path.iterdir()) == ["conftest.py", "staging.toml"]
    assert "\n    pytest --staging-suites --staging-env=staging\n" in capsys.readouterr().out


def test_init_creates_a_missing_directory_and_says_to_cd_into_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "deploy checks"

    assert init(target) == 0

    assert (target / "staging.toml").is_file()
    assert f"cd '{target}' && pytest --staging-suites" in capsys.readouterr().out


def test_url_and_service_are_substituted(tmp_path: Path) -> None:
    assert init(tmp_path, "--url", "http://10.0.0.5:8080/base", "--service", "orders-api") == 0

    loaded = manifest.load(tmp_path / "staging.toml")
    assert loaded.service == "orders-api"
    assert loaded.environments["staging"].url == "http://10.0.0.5:8080/base"


@pytest.mark.parametrize("name", ['say "hi"', "back\\slash", "naïve service"])
def test_a_service_name_with_quotes_or_backslashes_stays_valid_toml(
    tmp_path: Path, name: str
) -> None:
    assert init(tmp_path, "--service", name) == 0

    assert manifest.load(tmp_path / "staging.toml").service == name


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ('https://x.example/"oops', "quotes, backslashes, spaces and control characters"),
        ("https://x.example/\\", "quotes, backslashes, spaces and control characters"),
        ("https://x.example/\n[gates]", "quotes, backslashes, spaces and control characters"),
        ("https://x.example/a b", "quotes, backslashes, spaces and control characters"),
        ("ftp://x.example", "expected an http:// or https:// URL with a host"),
        ("staging.example.com", "expected an http:// or https:// URL with a host"),
        ("https://", "expected an http:// or https:// URL with a host"),
    ],
)
def test_a_bad_url_is_rejected_naming_url_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, problem: str
) -> None:
    assert init(tmp_path, "--url", url) == 1

    err = capsys.readouterr().err
    assert err.startswith(f"pytest-staging init: error: --url {url!r}: ")
    assert problem in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["bad\tname", ""])
def test_an_empty_or_unprintable_service_name_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert init(tmp_path, "--service", name) == 1

    err = capsys.readouterr().err
    assert f"service name {name!r}: expected printable text; pass --service NAME" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("existing", ["staging.toml", "conftest.py"])
def test_init_refuses_to_overwrite_either_file_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], existing: str
) -> None:
    (tmp_path / existing).write_text("mine\n", encoding="utf-8")

    assert init(tmp_path) == 1

    err = capsys.readouterr().err
    assert f"{tmp_path / existing} already exists: pass --force to overwrite it" in err
    assert [p.name for p in tmp_path.iterdir()] == [existing]
    assert (tmp_path / existing).read_text(encoding="utf-8") == "mine\n"


def test_the_refusal_names_both_files_when_both_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert init(tmp_path) == 0
    capsys.readouterr()

    assert init(tmp_path) == 1

    err = capsys.readouterr().err
    assert f"{tmp_path / 'staging.toml'} and {tmp_path / 'conftest.py'} already exist" in err
    assert "pass --force to overwrite them; nothing was written" in err


def test_force_overwrites_existing_files(tmp_path: Path) -> None:
    for name in ("staging.toml", "conftest.py"):
        (tmp_path / name).write_text("mine\n", encoding="utf-8")

    assert init(tmp_path, "--force", "--service", "orders-api") == 0

    assert manifest.load(tmp_path / "staging.toml").service == "orders-api"
    assert (tmp_path / "conftest.py").read_text(encoding="utf-8") == template("conftest.py.txt")


def test_a_dir_that_is_a_file_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("", encoding="utf-8")

    assert init(tmp_path / "file") == 1

    assert f"--dir {tmp_path / 'file'}: not a directory" in capsys.readouterr().err


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file permissions"
)
def test_an_unwritable_dir_is_a_message_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert init(locked) == 1
    finally:
        locked.chmod(0o700)

    err = capsys.readouterr().err
    assert err == (
        f"pytest-staging init: error: cannot write {locked / 'staging.toml'}: Permission denied\n"
    )
    assert list(locked.iterdir()) == []


def test_a_call_without_a_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])

    assert exit_info.value.code == 2
    assert "pytest-staging: error: the following arguments are required: COMMAND" in (
        capsys.readouterr().err
    )


def test_every_commented_out_setting_of_the_template_validates_when_switched_on() -> None:
    text = template("staging.toml").replace("${service}", "svc").replace("${url}", DEFAULT_URL)
    document = tomllib.loads(uncommented(text))

    assert manifest.validate(document) == []
    assert set(document) == set(schemas.load("manifest")["properties"])
    assert document["environments"]["production"]["sensitive"] is True
    assert "bad_request" in document["errors"]
    assert "rate_limit" in document["security"]
    assert "cache" in document["monitoring"]
    assert len(document["load"]["tasks"]) == 2
    assert document["endpoints"][1]["envelope"] is True


def test_the_module_runs_as_a_script(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_staging.cli", "init", "--dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert (result.returncode, result.stderr) == (0, "")
    assert "pytest --staging-suites --staging-env=staging" in result.stdout
    manifest.load(tmp_path / "staging.toml")


LOAD_MANIFEST = """
[load]
users = 2
wait_ms = 250
[[load.tasks]]
path = "/api/items"
weight = 3
[[load.tasks]]
name = "create"
method = "POST"
path = "/api/items"
json = { name = "load", price = 1.5 }
"""


def test_locustfile_writes_the_users_of_the_manifests_tasks(tmp_path: Path) -> None:
    manifest_file = tmp_path / "staging.toml"
    manifest_file.write_text(LOAD_MANIFEST, encoding="utf-8")
    output = tmp_path / "staging_locustfile.py"

    assert main(["locustfile", "--manifest", str(manifest_file), "--output", str(output)]) == 0

    text = output.read_text(encoding="utf-8")
    compile(text, str(output), "exec")
    assert "'path': '/api/items'" in text
    assert "'weight': 3" in text
    assert "'json': {'name': 'load', 'price': 1.5}" in text
    assert "'wait_ms': 250" in text
    assert "PYTEST_STAGING_LOAD_HEADERS" in text  # headers only ever come from the environment


def test_locustfile_prints_to_stdout_without_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "staging.toml").write_text(LOAD_MANIFEST, encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert main(["locustfile"]) == 0

    assert "class ManifestUser(FastHttpUser)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[service]\nname = "no load"\n', "declares no [[load.tasks]]"),
        ('[load]\nlocustfile = "mine.py"\n', "declares no [[load.tasks]]"),
        ("[load]\nusers = 0\n", "load.users: expected a whole number of users, 1 or more"),
    ],
    ids=["no load table", "own locustfile", "invalid manifest"],
)
def test_locustfile_refuses_a_manifest_without_tasks_naming_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    manifest_file = tmp_path / "staging.toml"
    manifest_file.write_text(content, encoding="utf-8")

    assert main(["locustfile", "--manifest", str(manifest_file)]) == 1

    error = capsys.readouterr().err
    assert error.startswith("pytest-staging locustfile: error: ")
    assert expected in error
