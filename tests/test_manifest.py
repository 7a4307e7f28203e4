"""The target manifest: every bad input named by key path, defaults, and how it steers a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from inner_run import INNER_RUN_OPTIONS

from pytest_staging import manifest
from pytest_staging.manifest.records import Auth, Health, ManifestError, MissingCredential
from pytest_staging.redaction import Secret
from pytest_staging.settings.manifest_choice import demo_manifest_path

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

UNREACHABLE = "http://127.0.0.1:9"
PASSING_SMOKE_TEST = "import pytest\n\n@pytest.mark.smoke\ndef test_ok():\n    pass\n"
DESTRUCTIVE_TESTS = (
    "import pytest\n\n"
    "@pytest.mark.smoke\ndef test_ok():\n    pass\n\n"
    "@pytest.mark.destructive\n@pytest.mark.smoke\ndef test_deletes():\n    pass\n"
)
WRONG_TYPE = '[[endpoints]]\npath = "/a"\n[[endpoints]]\npath = "/b"\n[[endpoints]]\npath = "/c"\nstatus = "200"\n'
STATUSES_EXPECTED = "an integer or a list of integers (HTTP statuses from 100 to 599)"
METHODS_EXPECTED = "one of GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE (upper case)"


def literal(pattern: str) -> str:
    """An fnmatch pattern where `[` is a plain character (`*` keeps its meaning)."""
    return pattern.replace("[", "[[]")


def problems(directory: Path, text: str | bytes, name: str = "staging.toml") -> list[str]:
    """The problems `manifest.load` reports for a manifest with this content."""
    path = directory / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(ManifestError) as info:
        manifest.load(path)
    assert info.value.path == path
    return info.value.problems


def load(directory: Path, text: str) -> manifest.Manifest:
    path = directory / "staging.toml"
    path.write_text(text, encoding="utf-8")
    return manifest.load(path)


# --- manifest.load / manifest.validate: one kind of bad input each -----------------------


def test_a_wrong_type_names_the_key_path_and_what_is_valid(tmp_path: Path) -> None:
    assert problems(tmp_path, WRONG_TYPE) == [
        f'endpoints[2].status: expected {STATUSES_EXPECTED}, got "200"'
    ]


def test_an_unknown_key_suggests_the_nearest_and_lists_the_valid_ones() -> None:
    assert manifest.validate({"endpoints": [{"path": "/a", "methd": "GET"}]}) == [
        "endpoints[0].methd: unknown key (did you mean 'method'?); valid keys here: auth, "
        "budget_ms, category, critical, envelope, headers, json, method, name, pagination, "
        "path, schema, status"
    ]


def test_an_unknown_top_level_table_is_named_with_the_valid_tables() -> None:
    assert manifest.validate({"servce": {"name": "orders"}}) == [
        "servce: unknown key (did you mean 'service'?); valid keys here: auth, endpoints, "
        "envelope, environments, errors, gates, health, load, monitoring, performance, resources, "
        "security, service, soak"
    ]


def test_an_environment_without_url_is_reported_missing(tmp_path: Path) -> None:
    assert problems(tmp_path, "[environments.qa]\nsensitive = true\n") == [
        "environments.qa.url: missing; it is required here"
    ]


def test_a_field_that_is_not_a_json_pointer_says_what_a_pointer_is(tmp_path: Path) -> None:
    assert problems(tmp_path, '[health]\nstatus_field = "status"\n') == [
        "health.status_field: expected a JSON pointer: empty or starting with '/', "
        "'~' only as ~0 or ~1, got \"status\""
    ]


def test_a_gate_out_of_range_says_the_valid_range() -> None:
    assert manifest.validate({"gates": {"smoke": 120, "min_tests": {"smoke": -1}}}) == [
        "gates.min_tests.smoke: expected a whole number of tests, 0 or more, got -1",
        "gates.smoke: expected a pass rate in percent, from 0 to 100, got 120",
    ]


def test_a_lower_case_method_lists_the_upper_case_methods(tmp_path: Path) -> None:
    assert problems(tmp_path, '[[endpoints]]\npath = "/a"\nmethod = "get"\n') == [
        f'endpoints[0].method: expected {METHODS_EXPECTED}, got "get"'
    ]


def test_a_missing_file_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(ManifestError) as info:
        manifest.load(path)
    assert info.value.problems == ["cannot read it: No such file or directory"]
    assert str(info.value) == f"{path}: cannot read it: No such file or directory"


def test_a_directory_cannot_be_read_as_a_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        manifest.load(tmp_path)
    assert info.value.problems == [
        "cannot read it: it is a directory, not a regular file: name a file"
    ]


def test_invalid_toml_gives_the_line_and_column(tmp_path: Path) -> None:
    assert problems(tmp_path, "[service]\nname = \n") == [
        "not valid TOML: Invalid value (at line 2, column 8)"
    ]


ENDPOINT_WITH_SCHEMA = '[[endpoints]]\npath = "/a"\nschema = "x.json"\n'


def test_a_missing_schema_file_names_the_key_and_the_file(tmp_path: Path) -> None:
    assert problems(tmp_path, ENDPOINT_WITH_SCHEMA) == [
        f"endpoints[0].schema: cannot read {tmp_path / 'x.json'}: No such file or directory"
    ]


def test_a_schema_file_that_is_not_json_names_the_key_and_the_file(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("not json", encoding="utf-8")
    assert problems(tmp_path, ENDPOINT_WITH_SCHEMA) == [
        f"endpoints[0].schema: {tmp_path / 'x.json'} is not valid JSON: "
        "Expecting value: line 1 column 1 (char 0)"
    ]


def test_a_schema_file_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("[1, 2]", encoding="utf-8")
    assert problems(tmp_path, ENDPOINT_WITH_SCHEMA) == [
        f"endpoints[0].schema: {tmp_path / 'x.json'} must hold a JSON Schema object"
    ]


def test_an_invalid_json_schema_names_the_key_the_file_and_where_in_it(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"properties": {"a": {"type": "nope"}}}', encoding="utf-8")
    assert problems(tmp_path, ENDPOINT_WITH_SCHEMA) == [
        f"endpoints[0].schema: {tmp_path / 'x.json'} is not a valid JSON Schema at "
        "properties.a.type: 'nope' is not valid under any of the given schemas"
    ]


def test_more_than_ten_problems_are_cut_with_how_many_more() -> None:
    document = {
        "endpoints": [{"path": "/a", "method": "get"}] * 3,
        "gates": dict.fromkeys("abcdefghij", 101),
        "health": {"path": "x"},
    }
    found = manifest.validate(document)  # 3 + 10 + 1 problems
    assert len(found) == 11
    assert found[-1] == "… and 4 more"
    assert found[0] == "endpoints[0].method: expected " + METHODS_EXPECTED + ', got "get"'


def test_a_valid_document_has_no_problems() -> None:
    assert manifest.validate({"service": {"name": "orders"}, "endpoints": [{"path": "/a"}]}) == []


# --- what a valid manifest becomes ---------------------------------------------------------


def test_an_endpoint_with_only_a_path_gets_every_default(tmp_path: Path) -> None:
    endpoint = load(tmp_path, '[[endpoints]]\npath = "/api/items"\n').endpoints[0]
    assert endpoint.method == "GET"
    assert endpoint.statuses == (200,)
    assert endpoint.category == "smoke"
    assert endpoint.label == "GET /api/items"
    assert (endpoint.envelope, endpoint.critical, endpoint.schema) == (False, False, None)


def test_a_status_list_and_a_name_are_kept(tmp_path: Path) -> None:
    endpoint = load(
        tmp_path,
        '[[endpoints]]\nname = "create"\nmethod = "POST"\npath = "/a"\nstatus = [201, 202]\n',
    ).endpoints[0]
    assert endpoint.statuses == (201, 202)
    assert endpoint.label == "create"


def test_without_a_health_table_the_conventions_apply(tmp_path: Path) -> None:
    assert load(tmp_path, '[service]\nname = "orders"\n').health == Health(
        path="/health",
        statuses=(200,),
        status_field="/status",
        healthy_value="healthy",
        components="/components",
        version_field="/version",
    )


def test_a_health_table_checks_only_what_it_declares(tmp_path: Path) -> None:
    health = load(tmp_path, '[health]\npath = "/healthz"\n').health
    assert health.path == "/healthz"
    assert health.statuses == (200,)
    assert (health.status_field, health.components, health.version_field) == (None, None, None)


@pytest.mark.parametrize(("duration", "seconds"), [('"1h30m"', 5400.0), ('"2m30s"', 150.0)])
def test_a_load_duration_takes_the_same_grammar_as_the_soak_options(
    tmp_path: Path, duration: str, seconds: float
) -> None:
    text = f'[load]\nduration = {duration}\n[[load.tasks]]\npath = "/api/items"\n'
    declared = load(tmp_path, text).load

    assert declared is not None
    assert declared.plan.duration_s == seconds


def test_a_load_duration_it_cannot_read_names_the_key(tmp_path: Path) -> None:
    text = '[load]\nduration = "1h-5m"\n[[load.tasks]]\npath = "/api/items"\n'

    assert problems(tmp_path, text) == [
        'load.duration: expected a positive duration such as 20 (seconds), "20s", "5m" or '
        "\"1h\", got '1h-5m'"
    ]


def test_the_demo_manifest_loads_with_envelopes_auth_and_resources() -> None:
    demo = manifest.load(demo_manifest_path())
    assert demo.service == "pytest-staging demo"
    assert demo.uses_envelope
    assert [e.label for e in demo.endpoints if e.envelope] == [
        "GET /api/items",
        "GET one item",
        "GET /api/cache/stats",
    ]
    assert demo.endpoints[0].schema is not None
    assert demo.endpoints[0].pagination is not None
    assert demo.auth is not None
    assert demo.auth.kind == "bearer-login"
    assert demo.auth.password_env == "PYTEST_STAGING_DEMO_PASSWORD"
    assert [r.label for r in demo.resources] == ["items"]
    assert demo.resources[0].item_path == "/api/items/{id}"
    assert demo.resources[0].auth is True
    assert dict(demo.min_tests) == {}  # own tests run with --staging-demo need no minimum


LOGIN = Auth(kind="bearer-login", username_env="APP_USER", password_env="APP_PASSWORD")


def test_credentials_name_the_unset_variable_and_its_key() -> None:
    with pytest.raises(MissingCredential) as info:
        LOGIN.credentials({"APP_USER": "alice"})
    assert "APP_PASSWORD" in str(info.value)
    assert "auth.password_env" in str(info.value)


def test_credentials_need_the_variable_names_in_the_manifest() -> None:
    with pytest.raises(MissingCredential, match=r"auth\.username_env is not set in the manifest"):
        Auth(kind="basic").credentials({})


def test_credentials_return_a_password_that_hides_its_value() -> None:
    username, password = LOGIN.credentials({"APP_USER": "alice", "APP_PASSWORD": "s3cret-pw"})
    assert username == "alice"
    assert isinstance(password, Secret)
    assert password.reveal() == "s3cret-pw"
    assert "s3cret-pw" not in repr(password)
    assert "s3cret-pw" not in str(password)


# --- inputs that once crashed or misordered the checks ------------------------------------


def test_a_float_status_is_a_manifest_error_not_a_crash(tmp_path: Path) -> None:
    assert problems(tmp_path, '[[endpoints]]\npath = "/a"\nstatus = 200.0\n') == [
        "endpoints[0].status: expected an integer or a list of integers "
        "(HTTP statuses from 100 to 599), got 200.0"
    ]


def test_a_manifest_that_is_not_utf8_is_a_manifest_error_not_a_crash(tmp_path: Path) -> None:
    found = problems(tmp_path, '[service]\nname = "caf\xe9"\n'.encode("latin-1"))
    assert found == ["not valid TOML: it is not UTF-8 text (invalid continuation byte)"]


def test_problems_are_listed_in_array_index_order() -> None:
    found = manifest.validate({"endpoints": [{"path": "/a", "method": "get"}] * 12})
    assert [line.split(":")[0] for line in found[:10]] == [
        f"endpoints[{i}].method" for i in range(10)
    ]


# --- end to end: a bad manifest stops the run with exit 4 ------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (WRONG_TYPE, f'  endpoints[2].status: expected {STATUSES_EXPECTED}, got "200"'),
        (
            '[endpoints]\npath = "/a"\n',
            "  endpoints: expected an array of tables: [[endpoints]], got a table",
        ),
        (
            '[[endpoints]]\npath = "/a"\nbudget = 10\n',
            "  endpoints[0].budget: unknown key (did you mean 'budget_ms'?)*",
        ),
        (
            "[environments.qa]\nsensitive = false\n",
            "  environments.qa.url: missing; it is required here",
        ),
        (
            '[health]\nversion_field = "version"\n',
            "  health.version_field: expected a JSON pointer*",
        ),
        ("[service]\nname = \n[health]\n", "  not valid TOML: Invalid value (at line 2, column 8)"),
    ],
    ids=["wrong-type", "table-not-array", "unknown-key", "missing-url", "bad-pointer", "bad-toml"],
)
def test_a_bad_manifest_exits_4_naming_the_key_path_and_the_option(
    pytester: pytest.Pytester, content: str, expected: str
) -> None:
    pytester.makefile(".toml", bad=content)
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-manifest=bad.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            literal(f"ERROR: invalid manifest, --staging-manifest ({pytester.path / 'bad.toml'}):"),
            literal(expected),
            "(see docs/manifest.md for every key)",
        ]
    )


def test_a_missing_manifest_file_exits_4_saying_it_cannot_be_read(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-manifest=missing.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: invalid manifest, --staging-manifest (*missing.toml):",
            "  cannot read it: No such file or directory",
        ]
    )


def test_a_manifest_from_the_environment_names_the_variable(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makefile(".toml", bad='[environments.qa]\nurl = "ftp://qa"\n')
    pytester.makepyfile(PASSING_SMOKE_TEST)
    monkeypatch.setenv("PYTEST_STAGING_MANIFEST", "bad.toml")
    result = pytester.runpytest(*INNER_RUN_OPTIONS)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: invalid manifest, PYTEST_STAGING_MANIFEST (*bad.toml):",
            '  environments.qa.url: expected an http:// or https:// URL, got "ftp://qa"',
        ]
    )


def test_a_bad_staging_toml_in_the_rootdir_says_where_it_was_found(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".toml", staging='[servce]\nname = "orders"\n')
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-env=staging")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: invalid manifest, staging.toml in the rootdir:",
            "  servce: unknown key (did you mean 'service'?); valid keys here: auth, *",
        ]
    )


def test_a_run_without_a_target_never_reads_the_rootdir_staging_toml(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".toml", staging='[servce]\nname = "orders"\n')
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)
    output = result.stdout.str() + result.stderr.str()
    assert "STAGING GATE" not in output
    assert "manifest" not in output


def test_a_bad_manifest_still_writes_a_no_go_report(
    pytester: pytest.Pytester, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makefile(".toml", bad=WRONG_TYPE)
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, "--staging-manifest=bad.toml", "--staging-report=gate.json"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    report = read_report(pytester.path / "gate.json")
    assert report["verdict"] == "NO-GO"
    assert report["exit_code"] == 4
    [reason] = report["reasons"]
    assert reason.startswith("usage error: invalid manifest, --staging-manifest")
    assert "endpoints[2].status: expected an integer or a list of integers" in reason


# --- end to end: environments, precedence, gates and the destructive guard -------------------


def environments(**urls: str) -> str:
    return "".join(f'[environments.{name}]\nurl = "{url}"\n' for name, url in urls.items())


def test_the_environment_flag_targets_the_manifest_url(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makefile(".toml", staging=environments(staging=demo_url, production=UNREACHABLE))
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-env=staging")
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"staging target: {demo_url} (environment staging)"])


def test_a_staging_toml_merely_present_leaves_the_plugin_inert(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makefile(".toml", staging=environments(staging=demo_url))
    pytester.makepyfile("def test_fails():\n    assert False\n")
    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-report=gate.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "staging target" not in result.stdout.str()
    assert "STAGING GATE" not in result.stdout.str()
    assert not (pytester.path / "gate.json").exists()


def test_the_url_option_beats_the_manifest_environment_url(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makefile(".toml", staging=environments(staging=UNREACHABLE))
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, "--staging-env=staging", f"--staging-url={demo_url}"
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"staging target: {demo_url} (environment staging)"])


def test_the_environment_variable_works_like_the_flag(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    pytester.makefile(".toml", staging=environments(staging=UNREACHABLE, qa=demo_url))
    pytester.makepyfile(PASSING_SMOKE_TEST)
    monkeypatch.setenv("PYTEST_STAGING_ENV", "qa")
    result = pytester.runpytest(*INNER_RUN_OPTIONS)
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"staging target: {demo_url} (environment qa)"])


def test_an_environment_the_manifest_lacks_exits_4_naming_the_declared_ones(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".toml", targets=environments(staging=UNREACHABLE, production=UNREACHABLE))
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, "--staging-manifest=targets.toml", "--staging-env=qa"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            literal(
                "ERROR: --staging-env=qa: *targets.toml has no [environments.qa] "
                "(declared: staging, production); add it, or give the URL with --staging-url"
            )
        ]
    )


INTEGRATION_ONLY = "import pytest\n\n@pytest.mark.integration\ndef test_flow():\n    pass\n"


def test_a_manifest_gate_is_shown_and_explicit(pytester: pytest.Pytester, demo_url: str) -> None:
    pytester.makefile(".toml", staging="[gates]\nsmoke = 80\n")
    pytester.makepyfile(INTEGRATION_ONLY)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "staging gate thresholds: smoke=80% integration=95% *",
            "STAGING GATE: NO-GO",
            "  - smoke: no test ran, but its threshold of 80% was set explicitly",
        ]
    )


def test_the_gate_option_overrides_the_manifest_gate(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makefile(".toml", staging="[gates]\nsmoke = 80\n")
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "--staging-gate", "smoke=90"
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(["staging gate thresholds: smoke=90% integration=95% *"])


def test_too_few_tests_under_min_tests_is_no_go(pytester: pytest.Pytester, demo_url: str) -> None:
    pytester.makefile(".toml", staging="[gates.min_tests]\nsmoke = 3\n")
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["STAGING GATE: NO-GO", "  - smoke: 1 test(s) ran, at least 3 required"]
    )


def test_a_gate_on_an_unknown_category_exits_4(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", staging="[gates]\nperf = 90\n")
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={UNREACHABLE}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: *staging.toml: gates.perf: unknown category 'perf'; known categories: smoke, *"]
    )


def test_expecting_a_version_needs_a_version_field_in_a_declared_health_table(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".toml", staging='[health]\npath = "/health"\n')
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={UNREACHABLE}", "--staging-expect-version=1.0.0"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --staging-expect-version needs the version in the health document: "
            "declare health.version_field in *staging.toml"
        ]
    )


def test_a_sensitive_environment_withholds_destructive_tests_even_when_allowed(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makefile(
        ".toml", staging=f'[environments.production]\nurl = "{demo_url}"\nsensitive = true\n'
    )
    pytester.makepyfile(DESTRUCTIVE_TESTS)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, "--staging-env=production", "--staging-allow-destructive", "-rs"
    )
    assert result.ret == 0
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED * destructive test withheld: the target is environment 'production', marked sensitive in *"
        ]
    )


def test_a_destructive_test_is_withheld_unless_allowed(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makepyfile(DESTRUCTIVE_TESTS)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "-rs")
    assert result.ret == 0
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * pass --staging-allow-destructive to run it"])


def test_an_allowed_destructive_test_runs_on_a_non_sensitive_environment(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makefile(".toml", staging=environments(staging=demo_url))
    pytester.makepyfile(DESTRUCTIVE_TESTS)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, "--staging-env=staging", "--staging-allow-destructive"
    )
    assert result.ret == 0
    result.assert_outcomes(passed=2)


def test_a_login_kind_names_the_keys_it_needs() -> None:
    assert manifest.validate({"auth": {"kind": "bearer-login"}}) == [
        "auth.login_path: missing; it is required here",
        "auth.username_env: missing; it is required here",
        "auth.password_env: missing; it is required here",
    ]


def test_auth_true_without_an_auth_table_is_a_manifest_error(tmp_path: Path) -> None:
    text = '[[endpoints]]\npath = "/me"\nauth = true\n'
    assert problems(tmp_path, text) == [
        "endpoints[0].auth: true needs an [auth] table that says how to log in"
    ]


@pytest.mark.parametrize(
    ("manifest_url", "given_url"),
    [
        ("http://{host}:{port}", "http://{host}:{port}"),
        ("http://{host}:{port}", "http://{host}:{port}/"),
        ("https://{host}:{port}", "http://{host}:{port}"),
        ("https://{host}", "http://{host}:{port}"),
        ("http://{host}:{port}", "http://{host}:{port}/v1"),
    ],
    ids=["same-url", "trailing-slash", "https-vs-http", "no-port-in-manifest", "path-under-it"],
)
def test_the_url_of_a_sensitive_environment_is_sensitive_under_any_name(
    pytester: pytest.Pytester, demo_url: str, manifest_url: str, given_url: str
) -> None:
    """Also `http://` of production's `https://` host, an omitted port or a deeper path: no
    wrong GO with destructive tests run there because the URL was written another way."""
    host, _, port = demo_url.removeprefix("http://").rpartition(":")
    production = manifest_url.format(host=host, port=port)
    pytester.makefile(
        ".toml", staging=f'[environments.production]\nurl = "{production}"\nsensitive = true\n'
    )
    pytester.makepyfile(DESTRUCTIVE_TESTS)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        f"--staging-url={given_url.format(host=host, port=port)}",
        "--staging-allow-destructive",
        "-rs",
    )
    assert result.ret == 0
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["SKIPPED * withheld: the target is environment 'production', marked sensitive in *"]
    )


@pytest.mark.parametrize(
    ("table", "secret"),
    [
        ('[auth]\nkind = "basic"\nusername_env = "USER"\npassword_env = "hunter2 !"\n', "hunter2"),
        ('[[endpoints]]\npath = "/a"\nheaders = { Authorization = "Bearer tok\\u00e9n" }\n', "tok"),
    ],
)
def test_a_value_that_may_be_a_secret_is_never_echoed(
    tmp_path: Path, table: str, secret: str
) -> None:
    found = problems(tmp_path, table)
    assert len(found) == 1
    assert found[0].endswith("(the value is not shown)")
    assert secret not in found[0]


def test_a_credential_name_that_looks_like_a_secret_is_not_repeated() -> None:
    auth = manifest.Auth(kind="basic", username_env="USER", password_env="Sup3rSecret")
    with pytest.raises(manifest.MissingCredential) as info:
        auth.credentials({"USER": "someone"})
    assert "Sup3rSecret" not in str(info.value)
    assert "auth.password_env" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[gates]\nsmoke = nan\n",
            "gates.smoke: nan is not a usable number; write a finite number",
        ),
        (
            '[[resources]]\npath = "/a"\ncreate = { due = 2026-01-01 }\n',
            "resources[0].create.due: a TOML date or time is not JSON; write it as a string",
        ),
    ],
)
def test_toml_values_json_cannot_carry_are_manifest_errors(
    tmp_path: Path, text: str, expected: str
) -> None:
    assert problems(tmp_path, text) == [expected]


def test_other_is_not_a_category_an_endpoint_can_declare(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", staging='[[endpoints]]\npath = "/a"\ncategory = "other"\n')
    pytester.makepyfile(PASSING_SMOKE_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={UNREACHABLE}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*endpoints[[]0[]].category: unknown category 'other'*"])


def test_a_header_value_with_a_trailing_line_break_is_rejected() -> None:
    assert manifest.validate({"endpoints": [{"path": "/a", "headers": {"X-Id": "abc\n"}}]}) == [
        "endpoints[0].headers.X-Id: expected a header value: printable ASCII, no line breaks "
        "(the value is not shown)"
    ]


def test_budgets_are_named_as_the_latency_summary_names_requests() -> None:
    from pytest_staging.performance.percentiles import summarize

    budgets = manifest.load(demo_manifest_path()).budgets()
    requests = [
        {"method": "GET", "path": "/api/items/1", "status": 200, "duration_ms": 3.0},
        {"method": "GET", "path": "/health", "status": 200, "duration_ms": 1.0},
    ]

    summary = summarize(requests, budgets)

    assert budgets == {"GET /api/items": 200, "GET /api/items/1": 200}
    assert summary["GET /api/items/1"]["budget_ms"] == 200
    assert "budget_ms" not in summary["GET /health"]
