"""Options and settings: validation at start (exit 4 naming the option), precedence, inertness."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import trustme
from inner_run import INNER_RUN_OPTIONS

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

PASSING_TEST = "import pytest\n\n@pytest.mark.smoke\ndef test_ok():\n    pass\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("--staging-url=ftp://example.com",),
            "--staging-url: expected an absolute http:// or https:// URL*",
        ),
        (
            ("--staging-url=not a url",),
            "--staging-url: expected an absolute http:// or https:// URL*",
        ),
        (
            ("--staging-gate", "smoke=120"),
            "--staging-gate: 'smoke=120' is not CATEGORY=PERCENT with PERCENT from 0 to 100*",
        ),
        (("--staging-gate", "smoke"), "--staging-gate: 'smoke' is not CATEGORY=PERCENT*"),
        (
            ("--staging-demo=bogus",),
            "--staging-demo: unknown demo mode 'bogus'; expected one of: healthy, degraded, slow, flaky, broken-envelope, leaky",
        ),
        (
            ("--staging-timeout=0",),
            "--staging-timeout: expected a number of seconds above 0 up to 86400, e.g. 30",
        ),
        (
            ("--staging-wait=-1",),
            "--staging-wait: expected a number of seconds from 0 up to 86400, e.g. 30",
        ),
        (("--staging-header", "no-colon-here"), "--staging-header: expected 'Name: value'*"),
        (
            ("--staging-ca-bundle=/nonexistent/ca.pem",),
            "--staging-ca-bundle: '/nonexistent/ca.pem' cannot be used: No such file or directory",
        ),
        (
            ("--staging-retries=11",),
            "--staging-retries: expected a whole number of retries from 0 to 10, e.g. 2 (0 turns retries off)",
        ),
        (
            ("--staging-retries=-1",),
            "--staging-retries: expected a whole number of retries from 0 to 10*",
        ),
        (
            ("--staging-retry-on=404,503",),
            "--staging-retry-on: '404,503' is not a comma-separated list of HTTP status codes from 500 to 599, e.g. 502,503,504",
        ),
        (
            ("--staging-max-error-rate=1%",),
            "--staging-max-error-rate: '1%' is not a percentage from 0 to 100, e.g. 0.1",
        ),
        (
            ("--staging-max-error-rate=-0.5",),
            "--staging-max-error-rate: '-0.5' is not a percentage from 0 to 100, e.g. 0.1",
        ),
        (
            ("--staging-allow-partial=maybe",),
            "--staging-allow-partial: 'maybe' is not a yes/no value; expected 1/0, true/false",
        ),
        (
            ("--staging-flaky-fails=smoke,all",),
            "--staging-flaky-fails: 'smoke,all' is not a comma-separated list of categories, or all, e.g. integration,security",
        ),
    ],
)
def test_bad_option_values_exit_4_naming_the_option(
    pytester: pytest.Pytester, args: tuple[str, ...], expected: str
) -> None:
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {expected}"])


def test_unknown_gate_category_names_the_known_ones(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, "--staging-url=http://127.0.0.1:9", "--staging-gate", "perf=90"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --staging-gate: unknown category 'perf'; known categories: "
            "smoke, integration, performance, security, monitoring, other (declare more with the ini key staging_categories)"
        ]
    )


def test_unknown_flaky_fails_category_names_the_known_ones(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, "--staging-url=http://127.0.0.1:9", "--staging-flaky-fails=smok"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --staging-flaky-fails: unknown category 'smok'; known categories: "
            "smoke, integration, performance, security, monitoring, other, or all "
            "(declare more with the ini key staging_categories)"
        ]
    )


def test_retry_and_flaky_settings_from_each_source(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_staging.settings.resolution import SETTINGS_KEY

    pytester.makeini(
        "[pytest]\nstaging_categories = payments\nstaging_retry_on = 503, 502,503\n"
        "staging_flaky_fails = all\n"
    )
    monkeypatch.setenv("PYTEST_STAGING_RETRIES", "5")
    config = pytester.parseconfigure("--staging-url=http://127.0.0.1:9")
    settings = config.stash[SETTINGS_KEY]
    assert (settings.retries, settings.retry_on) == (5, (502, 503))
    assert settings.flaky_fails == {
        "smoke",
        "integration",
        "performance",
        "security",
        "monitoring",
        "payments",
        "other",
    }
    config = pytester.parseconfigure(
        "--staging-url=http://127.0.0.1:9",
        "--staging-retries=0",
        "--staging-retry-on=504",
        "--staging-flaky-fails= integration ,payments",
    )
    settings = config.stash[SETTINGS_KEY]
    assert (settings.retries, settings.retry_on) == (0, (504,))
    assert settings.flaky_fails == {"integration", "payments"}


def test_retry_and_flaky_defaults(pytester: pytest.Pytester) -> None:
    from pytest_staging.settings.resolution import SETTINGS_KEY

    settings = pytester.parseconfigure("--staging-url=http://127.0.0.1:9").stash[SETTINGS_KEY]
    assert (settings.retries, settings.retry_on, settings.flaky_fails) == (
        2,
        (502, 503, 504),
        frozenset(),
    )


def test_a_bad_retry_value_from_the_environment_names_the_variable(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_STAGING_RETRY_ON", "503,600")
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-url=http://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: PYTEST_STAGING_RETRY_ON (for --staging-retry-on): '503,600' is not a "
            "comma-separated list of HTTP status codes from 500 to 599, e.g. 502,503,504"
        ]
    )


def test_bad_environment_value_names_the_variable(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_STAGING_URL", "staging.example.com")
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: PYTEST_STAGING_URL (for --staging-url): expected an absolute http:// or https:// URL*"
        ]
    )


def test_bad_ini_value_names_the_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nstaging_url = http://127.0.0.1:9\nstaging_gate =\n    smoke=101\n")
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: ini key staging_gate (for --staging-gate): 'smoke=101' is not*"]
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("--staging-insecure", "--staging-ca-bundle={bundle}"),
            "ERROR: --staging-insecure and --staging-ca-bundle contradict each other*",
        ),
        (
            ("--staging-demo", "--staging-url=http://127.0.0.1:9"),
            "ERROR: --staging-demo and --staging-url both name the target: give one of them",
        ),
    ],
)
def test_conflicting_options_exit_4(
    pytester: pytest.Pytester, args: tuple[str, ...], expected: str
) -> None:
    bundle = pytester.path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, *(arg.format(bundle=bundle) for arg in args))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([expected])


def test_command_line_beats_environment_beats_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    unreachable = "http://127.0.0.1:9"
    pytester.makeini(f"[pytest]\nstaging_url = {unreachable}\nstaging_gate = smoke=50\n")
    pytester.makepyfile(PASSING_TEST)
    monkeypatch.setenv("PYTEST_STAGING_URL", demo_url)
    from_env = pytester.runpytest(*INNER_RUN_OPTIONS)
    assert from_env.ret == 0
    from_env.stdout.fnmatch_lines(
        [f"staging target: {demo_url} (environment staging)", "*smoke=50%*"]
    )
    from_cli = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={unreachable}", "--staging-gate=smoke=70"
    )
    assert from_cli.ret == 69
    from_cli.stdout.fnmatch_lines(["*smoke=70%*"])


MAX_ERROR_RATE_IN_MANIFEST = "[service]\nname = 'items'\n[gates]\nmax_error_rate = 5\n"


@pytest.mark.parametrize(
    ("sources", "shown"),
    [
        ({}, None),
        ({"manifest": MAX_ERROR_RATE_IN_MANIFEST}, "5%"),
        ({"manifest": MAX_ERROR_RATE_IN_MANIFEST, "ini": "0.5"}, "0.5%"),
        ({"manifest": MAX_ERROR_RATE_IN_MANIFEST, "ini": "0.5", "env": "0.25"}, "0.25%"),
        ({"ini": "0.5", "env": "0.25", "cli": "0.1"}, "0.1%"),
    ],
    ids=["default-off", "manifest", "ini-over-manifest", "env-over-ini", "cli-over-env"],
)
def test_max_error_rate_from_each_source_in_precedence_order(
    pytester: pytest.Pytester, demo_url: str, sources: dict[str, str], shown: str | None
) -> None:
    pytester.makepyfile(PASSING_TEST)
    if "manifest" in sources:
        pytester.makefile(".toml", staging=sources["manifest"])
    if "ini" in sources:
        pytester.makeini(f"[pytest]\nstaging_max_error_rate = {sources['ini']}\n")
    cli = [f"--staging-max-error-rate={sources['cli']}"] if "cli" in sources else []
    with pytest.MonkeyPatch.context() as patch:
        if "env" in sources:
            patch.setenv("PYTEST_STAGING_MAX_ERROR_RATE", sources["env"])
        result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}", *cli)

    assert result.ret == 0
    thresholds = next(line for line in result.stdout.lines if "staging gate thresholds:" in line)
    if shown is None:
        assert "max_error_rate" not in thresholds
        assert not any(line.startswith("error rate") for line in result.stdout.lines)
    else:
        assert thresholds.endswith(f" max_error_rate={shown}")
        result.stdout.fnmatch_lines([f"error rate: no request sent, max_error_rate {shown}"])


def test_environment_gate_list_is_comma_separated(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    monkeypatch.setenv("PYTEST_STAGING_GATE", "smoke=80, integration=60")
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}")
    result.stdout.fnmatch_lines(["staging gate thresholds: smoke=80% integration=60% *"])


def test_help_shows_true_defaults_and_sources(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_STAGING_TIMEOUT", "99")
    result = pytester.runpytest("--help")
    help_text = " ".join(result.stdout.str().split())
    assert "--staging-timeout=S" in help_text
    assert (
        "Per-request timeout in seconds. [env PYTEST_STAGING_TIMEOUT; ini staging_timeout; default 10.0]"
        in help_text
    )
    assert "default 99" not in help_text
    assert "--staging-token=TOKEN" in help_text
    assert "[env PYTEST_STAGING_RETRIES; ini staging_retries; default 2]" in help_text
    assert (
        "--staging-retry-on=STATUSES The statuses (500-599) that --staging-retries retries, "
        "comma-separated. [env PYTEST_STAGING_RETRY_ON; ini staging_retry_on; "
        "default 502,503,504]"
    ) in help_text
    assert "--staging-flaky-fails=CATEGORIES" in help_text


def test_without_a_target_the_plugin_is_inert(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_fails():\n    assert False\n")
    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-report=gate.json")
    assert result.ret == 1
    assert "staging" not in result.stdout.str().replace("plugins: staging", "")
    assert not (pytester.path / "gate.json").exists()
    empty = pytester.runpytest(*INNER_RUN_OPTIONS, "-k", "nothing")
    assert empty.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_without_a_target_nothing_heavy_is_imported_and_no_per_test_hook_runs(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import sys

        HEAVY = ("httpx", "jsonschema", "tenacity", "pytest_staging.manifest",
                 "pytest_staging.gate", "pytest_staging.assertions", "pytest_staging.run.controller")

        def test_imports(pytestconfig):
            assert [name for name in HEAVY if name in sys.modules] == []
            plugins = pytestconfig.pluginmanager.list_name_plugin()
            assert [name for name, _ in plugins if name.startswith("staging-")] == []
        """
    )
    result = pytester.runpytest_subprocess(*INNER_RUN_OPTIONS)
    result.assert_outcomes(passed=1)


def test_fixture_without_a_target_names_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs(staging_client):\n    pass\n")
    result = pytester.runpytest(*INNER_RUN_OPTIONS)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*no staging target is configured: pass --staging-url URL, set PYTEST_STAGING_URL, or use --staging-demo*"
        ]
    )


def test_markers_are_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nstaging_categories = contract\n")
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.smoke
        @pytest.mark.integration
        @pytest.mark.performance
        @pytest.mark.security
        @pytest.mark.critical
        @pytest.mark.destructive
        @pytest.mark.contract
        def test_marked():
            pass
        """
    )
    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--strict-markers")
    assert result.ret == 0


def test_declared_category_is_counted_and_gateable(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    pytester.makeini("[pytest]\nstaging_categories = contract\n")
    pytester.makepyfile(
        "import pytest\n\n@pytest.mark.contract\ndef test_contract():\n    assert False\n"
    )
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "--staging-gate=contract=100"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(["  - contract: pass rate 0% (0 of 1) is below the threshold 100%"])


def test_settings_never_show_secrets(pytester: pytest.Pytester, demo_url: str) -> None:
    pytester.makepyfile(
        """
        from pytest_staging.settings.resolution import SETTINGS_KEY
        def test_show(pytestconfig):
            settings = pytestconfig.stash[SETTINGS_KEY]
            print(repr(settings))
            assert False, repr(settings)
        """
    )
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        f"--staging-url={demo_url}",
        "--staging-token=tok-planted-123",
        "--staging-header",
        "X-Api-Key: key-planted-456",
        "-s",
    )
    output = result.stdout.str() + result.stderr.str()
    assert "Secret('***')" in output
    assert "tok-planted-123" not in output
    assert "key-planted-456" not in output


def test_a_usage_error_still_writes_a_no_go_report(
    pytester: pytest.Pytester, read_report: Callable[[Path], dict[str, Any]]
) -> None:
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, "--staging-gate=smoke=120", "--staging-report=out/gate.json"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    report = read_report(pytester.path / "out" / "gate.json")
    assert report["verdict"] == "NO-GO"
    assert report["exit_code"] == 4
    assert report["reasons"] == [
        "usage error: --staging-gate: 'smoke=120' is not CATEGORY=PERCENT with PERCENT "
        "from 0 to 100, e.g. smoke=100"
    ]


def test_help_works_with_a_bad_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_STAGING_URL", "not a url")
    assert pytester.runpytest("--help").ret == 0


def test_command_line_url_beats_a_demo_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, demo_url: str
) -> None:
    monkeypatch.setenv("PYTEST_STAGING_DEMO", "degraded")
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, f"--staging-url={demo_url}")
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"staging target: {demo_url} (environment staging)"])


def test_demo_and_url_from_the_same_source_are_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_STAGING_DEMO", "healthy")
    monkeypatch.setenv("PYTEST_STAGING_URL", "http://127.0.0.1:9")
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: PYTEST_STAGING_DEMO and PYTEST_STAGING_URL both name the target: give one of them"]
    )


def test_unknown_gate_category_from_the_environment_names_the_variable(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_STAGING_GATE", "smoke=100,perf=90")
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-url=http://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: PYTEST_STAGING_GATE: unknown category 'perf'; known categories:*"]
    )


def test_the_json_report_is_readable_by_others(pytester: pytest.Pytester, demo_url: str) -> None:
    pytester.makepyfile(PASSING_TEST)
    pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "--staging-report=gate.json"
    )
    assert (pytester.path / "gate.json").stat().st_mode & 0o777 == 0o644


def test_a_file_that_is_not_a_ca_bundle_exits_4(pytester: pytest.Pytester) -> None:
    pytester.makefile(".pem", ca="not a certificate")
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(*INNER_RUN_OPTIONS, "--staging-ca-bundle=ca.pem")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --staging-ca-bundle: 'ca.pem' cannot be used: not a PEM CA bundle"]
    )


def test_an_unwritable_report_path_exits_4(pytester: pytest.Pytester) -> None:
    pytester.makefile(".txt", blocker="a file where a folder should be")
    pytester.makepyfile(PASSING_TEST)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS,
        "--staging-url=http://127.0.0.1:9",
        "--staging-report=blocker.txt/gate.json",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --staging-report: 'blocker.txt/gate.json' cannot be written: *blocker.txt is not writable"
        ]
    )


DESTRUCTIVE_TESTS = (
    "import pytest\n\n"
    "@pytest.mark.smoke\ndef test_ok():\n    pass\n\n"
    "@pytest.mark.destructive\n@pytest.mark.smoke\ndef test_deletes():\n    pass\n"
)


def test_another_port_of_a_sensitive_host_is_another_environment(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    host, _, port = demo_url.removeprefix("http://").rpartition(":")
    other_port = 1 if port != "1" else 2
    pytester.makefile(
        ".toml",
        staging=f'[environments.production]\nurl = "https://{host}:{other_port}"\n'
        "sensitive = true\n",
    )
    pytester.makepyfile(DESTRUCTIVE_TESTS)
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", "--staging-allow-destructive"
    )
    assert result.ret == 0
    result.assert_outcomes(passed=2)
