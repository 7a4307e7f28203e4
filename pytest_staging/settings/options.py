"""The option table: every setting's flag, ini key, environment variable and parser.

Values are parsed when settings are resolved (not by argparse), so a bad
value from any source gives the same kind of message and the JSON report
can still be written with the NO-GO verdict.

One row per setting drives `pytest_addoption`, the ini registration and the
resolution order (command line > environment > ini > default), so the names
cannot drift apart: `--staging-X`, dest and ini `staging_X`, env
`PYTEST_STAGING_X`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pytest_staging.demo.modes import DEMO_MODES
from pytest_staging.markers import BUILTIN_CATEGORIES, DEFAULT_THRESHOLDS
from pytest_staging.settings import defaults, parsing

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

CATEGORIES_INI = parsing.CATEGORIES_INI
"""The one ini key without an option: categories besides the built-in ones."""

Kind = Literal["value", "flag", "append", "optional"]


@dataclass(frozen=True)
class Option:
    """One setting and every way a user can give it."""

    name: str
    help: str
    parse: Callable[[str], Any]
    kind: Kind = "value"
    metavar: str | None = None
    default: Any = None
    const: str | None = None
    ini: bool = True
    env: bool = True

    @property
    def flag(self) -> str:
        return f"--staging-{self.name.replace('_', '-')}"

    @property
    def dest(self) -> str:
        return f"staging_{self.name}"

    @property
    def env_var(self) -> str:
        return f"PYTEST_STAGING_{self.name.upper()}"

    def sources_help(self) -> str:
        parts = []
        if self.env:
            parts.append(f"env {self.env_var}")
        if self.ini:
            parts.append(f"ini {self.dest}")
        if self.default is not None and self.kind != "flag":
            shown = self.default
            if isinstance(shown, tuple):
                shown = ",".join(str(item) for item in shown)
            parts.append(f"default {shown}")
        return f" [{'; '.join(parts)}]" if parts else ""


OPTIONS: tuple[Option, ...] = (
    Option("url", "Base URL of the target to verify.", parsing.url, metavar="URL"),
    Option(
        "env",
        "Environment name: picks environments.NAME.url from the manifest when no URL is "
        "given, and is shown in the header and the reports.",
        parsing.text,
        metavar="NAME",
        default=defaults.ENVIRONMENT,
    ),
    Option(
        "manifest",
        "The target manifest (TOML) describing the service; default: staging.toml in "
        "the rootdir if present.",
        parsing.text,
        metavar="PATH",
    ),
    Option(
        "suites",
        f"Add the bundled suites ({', '.join(BUILTIN_CATEGORIES)}) to the run; "
        "they replace testpaths when no paths are given.",
        parsing.flag,
        kind="flag",
        default=False,
    ),
    Option(
        "demo",
        "Start the bundled demo service on a free loopback port and verify it. "
        f"MODE is one of: {', '.join(DEMO_MODES)} (default: healthy).",
        parsing.demo_mode,
        kind="optional",
        metavar="MODE",
        const="healthy",
    ),
    Option(
        "token",
        "Bearer token sent on every request; never printed. Not read from ini files.",
        parsing.token,
        metavar="TOKEN",
        ini=False,
    ),
    Option(
        "header",
        "Extra request header 'Name: value', repeatable; values never printed. "
        "The env variable takes one header per line. Not read from ini files.",
        parsing.header,
        kind="append",
        metavar="HEADER",
        ini=False,
    ),
    Option(
        "timeout",
        "Per-request timeout in seconds.",
        parsing.timeout,
        metavar="S",
        default=defaults.TIMEOUT_S,
    ),
    Option(
        "request_deadline",
        "Deadline in seconds for each request's whole exchange (connect, headers and body): "
        "a target that drips its answer a byte at a time is cut there. "
        f"Default: {defaults.DEADLINE_TIMEOUTS} times --staging-timeout.",
        parsing.timeout,
        metavar="S",
    ),
    Option(
        "max_body",
        "Largest answer body a test may read, in MiB once decompressed; a bigger one (a "
        f"decompression bomb) fails its test. Default {defaults.MAX_BODY_MIB}.",
        parsing.mebibytes,
        metavar="MIB",
    ),
    Option(
        "retries",
        "Send an idempotent request (GET, HEAD, OPTIONS, PUT, DELETE, TRACE) again, up to N "
        "times, after a connection failure or a --staging-retry-on status; 0 turns retries "
        "off. A test that needed a retry is listed as flaky.",
        parsing.retries,
        metavar="N",
        default=defaults.RETRIES,
    ),
    Option(
        "retry_on",
        "The statuses (500-599) that --staging-retries retries, comma-separated.",
        parsing.server_error_statuses,
        metavar="STATUSES",
        default=defaults.RETRY_ON,
    ),
    Option(
        "flaky_fails",
        "Comma-separated categories (or 'all') in which a flaky test, one that passed only "
        "after a retry or a rerun, counts as failed.",
        parsing.categories,
        metavar="CATEGORIES",
    ),
    Option(
        "ca_bundle",
        "CA bundle (PEM) to verify the target's TLS certificate with.",
        parsing.ca_bundle,
        metavar="PATH",
    ),
    Option(
        "insecure",
        "Do not verify TLS certificates (warns loudly).",
        parsing.flag,
        kind="flag",
        default=False,
    ),
    Option(
        "wait",
        "Readiness: poll the health endpoint until healthy or S seconds pass. "
        "0 checks once that the target answers.",
        parsing.wait,
        metavar="S",
        default=0.0,
    ),
    Option(
        "gate",
        "Gate threshold CATEGORY=PERCENT, repeatable; overrides the defaults "
        f"({' '.join(f'{name}={percent:g}' for name, percent in DEFAULT_THRESHOLDS.items())}). "
        "The env variable takes a comma-separated list.",
        parsing.gate,
        kind="append",
        metavar="CATEGORY=PERCENT",
    ),
    Option(
        "allow_partial",
        "Whether a run narrowed by -k, -m or --deselect may GO: yes (a note says what was "
        "left out) or no (NO-GO); a run that --lf or --sw chose never GOes "
        "(manifest gates.allow_partial; default yes).",
        parsing.flag,
        kind="optional",
        metavar="yes/no",
        const="yes",
    ),
    Option(
        "max_error_rate",
        "NO-GO when more than PERCENT of all the run's requests (every attempt, retries "
        "included) got no answer or a status of 500 or more "
        "(manifest gates.max_error_rate; default: off).",
        parsing.percentage,
        metavar="PERCENT",
    ),
    Option(
        "fail_fast",
        "Stop the run as soon as the verdict is certainly NO-GO: a critical test failed, or "
        "a gated category can no longer reach its threshold.",
        parsing.flag,
        kind="flag",
        default=False,
    ),
    Option(
        "allow_destructive",
        "Run tests marked destructive (never on an environment the manifest marks "
        "sensitive). Implied by --staging-demo.",
        parsing.flag,
        kind="flag",
        default=False,
    ),
    Option(
        "report",
        "Write the JSON gate report to PATH (also when the run fails).",
        parsing.output_path,
        metavar="PATH",
    ),
    Option(
        "summary_md",
        "Write the verdict and gate table as Markdown to PATH (also when the run fails); "
        "on GitHub Actions it is appended to $GITHUB_STEP_SUMMARY as well.",
        parsing.output_path,
        metavar="PATH",
    ),
    Option(
        "baseline",
        "An earlier JSON gate report: a request whose p95 grew beyond the tolerance fails "
        "the performance category.",
        parsing.report_file,
        metavar="PATH",
    ),
    Option(
        "baseline_tolerance",
        "How much slower than the baseline p95 is tolerated, in percent "
        "(manifest performance.baseline_tolerance; "
        f"default {parsing.DEFAULT_TOLERANCE:g}).",
        parsing.tolerance,
        metavar="PERCENT",
    ),
    Option(
        "allow_sensitive_load",
        "Let load runs target an environment the manifest marks sensitive (refused otherwise).",
        parsing.flag,
        kind="flag",
        default=False,
    ),
    Option(
        "expect_version",
        "Readiness also requires the deployed version to equal V.",
        parsing.text,
        metavar="V",
    ),
)


@dataclass(frozen=True)
class Found:
    """A setting's value and where it came from (rank 0 is the command line, 3 the default)."""

    value: Any
    source: str
    rank: int


def add_options(parser: pytest.Parser) -> None:
    """Register the `staging` option group and the matching ini keys."""
    group = parser.getgroup("staging", "staging gate (pytest-staging)")
    for option in OPTIONS:
        help_text = option.help + option.sources_help()
        if option.kind == "flag":
            group.addoption(option.flag, action="store_true", dest=option.dest, help=help_text)
        elif option.kind == "append":
            group.addoption(
                option.flag,
                action="append",
                dest=option.dest,
                metavar=option.metavar,
                help=help_text,
            )
        else:
            group.addoption(
                option.flag,
                dest=option.dest,
                metavar=option.metavar,
                nargs="?" if option.kind == "optional" else None,
                const=option.const,
                help=help_text,
            )
        if option.ini:
            ini_type: Literal["linelist", "string"] = (
                "linelist" if option.kind == "append" else "string"
            )
            parser.addini(option.dest, help=option.help, type=ini_type)
    parser.addini(
        CATEGORIES_INI,
        help="Extra test categories (marker names) the gate counts besides the built-in ones.",
        type="linelist",
    )
