"""The `pytest-staging` command: the jobs that happen outside a test run.

One subparser and one small function per subcommand; each function takes the
parsed arguments and returns the exit code. A `CommandError` becomes one
`pytest-staging <command>: error: ...` line on stderr and exit code 1, never a
traceback; argparse's own usage errors exit with 2, as everywhere.

Each command imports what only it uses when it runs: the report, soak, manifest and demo
modules cost 40 to 150 ms each to import, which `init`, `--help` and the other commands
need not pay.
"""

from __future__ import annotations

import argparse
import shlex
import string
import sys
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pytest_staging import durations
from pytest_staging.demo.modes import DEMO_MODES
from pytest_staging.settings import parsing

DEFAULT_URL = "https://staging.example.com"
DEFAULT_SOAK_STATE = ".staging-soak"
NEXT_COMMAND = "pytest --staging-suites --staging-env=staging"
# The files `init` writes: name, template in pytest_staging/templates, what it is for.
INIT_FILES = (
    ("staging.toml", "staging.toml", "the target manifest: set the URL, health and endpoints"),
    ("conftest.py", "conftest.py.txt", "a starter for your own staging checks"),
)


class CommandError(Exception):
    """A subcommand cannot do its job; the message says why and what to do instead."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code
        """The exit code: 1, or 4 for a request the command refuses (like pytest's usage
        errors)."""


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand named in `argv` (default: the command line); its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except CommandError as error:
        print(f"{parser.prog} {args.command}: error: {error}", file=sys.stderr)
        return error.code
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pytest-staging",
        description="Set up and run pytest-staging checks of a staging environment.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = commands.add_parser(
        "init",
        help="write a starter staging.toml and conftest.py",
        description="Write a commented starter staging.toml (the target manifest) and a "
        "conftest.py for your own checks. Existing files are kept unless --force is given.",
    )
    init.add_argument(
        "--dir",
        type=Path,
        default=Path(),
        help="folder to write them in, created if missing (default: the current directory)",
    )
    init.add_argument(
        "--url",
        default=DEFAULT_URL,
        help=f"base URL of the staging environment (default: {DEFAULT_URL})",
    )
    init.add_argument(
        "--service", metavar="NAME", help="name of the service (default: the name of DIR)"
    )
    init.add_argument("--force", action="store_true", help="overwrite files that already exist")
    init.set_defaults(handler=_init)
    locustfile = commands.add_parser(
        "locustfile",
        help="write the locustfile generated from the manifest's [load] tasks",
        description="Write the locustfile pytest-staging generates from the manifest's "
        "[[load.tasks]], e.g. for the workers of a distributed load run. It holds no secret: "
        "headers come from the PYTEST_STAGING_LOAD_HEADERS environment variable.",
    )
    locustfile.add_argument(
        "--manifest",
        type=Path,
        default=Path("staging.toml"),
        help="the target manifest (default: staging.toml)",
    )
    locustfile.add_argument(
        "--output", type=Path, help="file to write (default: print to standard output)"
    )
    locustfile.set_defaults(handler=_locustfile)
    _add_report_commands(commands)
    demo = commands.add_parser(
        "demo",
        help="serve the bundled demo service in the foreground",
        description="Serve the demo API on 127.0.0.1 until Ctrl-C, to point pytest (or a "
        "browser, or curl) at it: pytest --staging-suites --staging-url=http://127.0.0.1:PORT",
    )
    demo.add_argument(
        "--mode", default="healthy", choices=DEMO_MODES, help="fault mode (default: healthy)"
    )
    demo.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    demo.set_defaults(handler=_demo)
    _add_soak_command(commands)
    return parser


def _add_soak_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    soak = commands.add_parser(
        "soak",
        help="run the gate again and again for hours, then judge the trends",
        description="Run pytest with the given arguments every --every for --duration, keep "
        "each run's JSON report in --state DIR, and decide GO or NO-GO on all runs together: "
        "failed runs, request error rate, pass-rate, p95, memory and CPU trends (limits in the "
        "manifest's [soak] table). The same command with the same --state resumes a stopped "
        "soak. Exit code: 0 for GO, 1 for NO-GO; 130 or 143 when stopped (resumable).",
        usage="%(prog)s [--duration D --every D] [options] -- PYTEST_ARGS...",
    )
    soak.add_argument(
        "--duration",
        type=durations.argument,
        metavar="D",
        help=f"how long the soak lasts: {durations.EXAMPLES} (needed to start a soak)",
    )
    soak.add_argument(
        "--every",
        type=durations.argument,
        metavar="D",
        help="time from the start of one run to the start of the next (needed to start a soak)",
    )
    soak.add_argument(
        "--state",
        type=Path,
        default=Path(DEFAULT_SOAK_STATE),
        metavar="DIR",
        help=f"folder of the schedule, the runs' reports and logs and the summary; the same DIR "
        f"resumes the soak (default: {DEFAULT_SOAK_STATE})",
    )
    soak.add_argument(
        "--run-timeout",
        type=durations.argument,
        metavar="D",
        help="a run still going after D is stopped and counts as failed "
        "(default: --every, at least 10m)",
    )
    soak.add_argument(
        "--restart",
        action="store_true",
        help="keep the soak DIR holds aside (renamed DIR-TIMESTAMP) and start a new one",
    )
    soak.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        metavar="PYTEST_ARGS",
        help="the arguments of every pytest run, after --; on resume, the saved ones",
    )
    soak.set_defaults(handler=_soak)


def _add_report_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gate = commands.add_parser(
        "gate",
        help="print the verdict and gate table of a saved JSON report",
        description="Print the verdict, reasons and gate table of a report written by "
        "--staging-report, as the run printed them. Exit code: 0 for GO, 1 for NO-GO.",
    )
    gate.add_argument("report", type=Path, help="the JSON gate report")
    gate.add_argument("--markdown", action="store_true", help="print the Markdown summary instead")
    gate.set_defaults(handler=_gate)
    compare = commands.add_parser(
        "compare",
        help="show what changed between two saved JSON reports",
        description="Compare two reports written by --staging-report: verdict, pass rates, "
        "tests that changed outcome, p95 per request and load runs. Exit code: 1 when the "
        "new run is worse (verdict GO to NO-GO, a pass rate fell, a test broke or no longer "
        "ran, a p95 grew beyond the tolerance), else 0; 4 when the reports are of different "
        "targets or services.",
    )
    compare.add_argument("old", type=Path, help="the earlier report")
    compare.add_argument("new", type=Path, help="the later report")
    compare.add_argument(
        "--tolerance",
        type=parsing.tolerance,
        default=parsing.DEFAULT_TOLERANCE,
        metavar="PERCENT",
        help=f"p95 growth allowed per request (default: {parsing.DEFAULT_TOLERANCE:g})",
    )
    compare.add_argument(
        "--allow-different-targets",
        action="store_true",
        help="compare reports of different target URLs or services (refused otherwise)",
    )
    compare.set_defaults(handler=_compare)


def _read_report(path: Path) -> dict[str, Any]:
    from pytest_staging.report import saved  # per command: ~60 ms (see the module docstring)

    try:
        return saved.read(path)
    except saved.ReportFileError as exc:
        raise CommandError(str(exc)) from None


def _gate(args: argparse.Namespace) -> int:
    """Re-print a saved run's verdict; its exit code is the verdict."""
    from pytest_staging.report import markdown, terminal  # per command (module docstring)
    from pytest_staging.report.saved import SavedReport

    report = SavedReport.from_document(_read_report(args.report))
    if args.markdown:
        print(markdown.summary(report), end="")
    else:
        started = report.started_at.isoformat(timespec="seconds")
        print(f"{terminal.title(report)}, started {started}, exit code {report.exit_code}")
        lines = [
            *terminal.table_lines(report),
            *terminal.slowest_lines(report),
            *terminal.load_lines(report),
            *terminal.withheld_lines(report),
            *terminal.note_lines(report),
            *([terminal.INSECURE_WARNING] if report.insecure else []),
            *terminal.verdict_lines(report),
        ]
        print("\n".join(lines))
    return 0 if report.verdict.go else 1


def _compare(args: argparse.Namespace) -> int:
    from pytest_staging.report.comparison import compare, target_difference  # per command

    old, new = _read_report(args.old), _read_report(args.new)
    difference = target_difference(old, new)
    if difference and not args.allow_different_targets:
        raise CommandError(
            f"{args.old} and {args.new} are reports of different targets ({difference}): "
            "compare two runs of one target, or pass --allow-different-targets",
            code=4,
        )
    result = compare(old, new, old_name=str(args.old), tolerance=args.tolerance)
    print(f"{args.old} -> {args.new}")
    print("\n".join(result.lines))
    if result.worse:
        print(f"WORSE ({len(result.worse)}):")
        print("\n".join(f"  - {reason}" for reason in result.worse))
        return 1
    print("NOT WORSE: nothing got worse")
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Serve the demo service until interrupted."""
    try:  # per command (~150 ms), and the demo's extra may be missing
        from pytest_staging.demo.__main__ import main as serve
    except ImportError as exc:
        raise CommandError(
            f"the demo service needs the 'demo' extra ({exc.name} is missing): "
            "pip install 'pytest-staging[demo]'"
        ) from None

    print(f"demo service ({args.mode}) on http://127.0.0.1:{args.port}; Ctrl-C stops it")
    try:
        return serve(["--mode", args.mode, "--port", str(args.port)])
    except KeyboardInterrupt:
        return 0


def _soak(args: argparse.Namespace) -> int:
    """Start or resume a soak; its exit code is its verdict."""
    from pytest_staging.soak.loop import Request, SoakError, soak  # per command (~100 ms)

    pytest_args = list(args.pytest_args)
    if pytest_args[:1] == ["--"]:
        pytest_args = pytest_args[1:]
    request = Request(
        state_dir=args.state,
        duration_s=args.duration,
        every_s=args.every,
        args=tuple(pytest_args),
        run_timeout_s=args.run_timeout,
        restart=args.restart,
    )
    try:
        return soak(request, out=lambda line: print(line, flush=True))
    except SoakError as exc:
        raise CommandError(str(exc)) from None


def _locustfile(args: argparse.Namespace) -> int:
    """Print or write the generated locustfile of the manifest's `[load]` tasks."""
    from pytest_staging import manifest  # per command (~120 ms with the reader)
    from pytest_staging.load.plan import generated_locustfile

    try:
        declared = manifest.load(args.manifest).load
    except manifest.ManifestError as exc:
        raise CommandError(str(exc)) from None
    if declared is None or not declared.plan.tasks:
        raise CommandError(f"{args.manifest}: declares no [[load.tasks]] to generate users from")
    text = generated_locustfile(declared.plan.tasks, declared.plan.wait_ms)
    if args.output is None:
        print(text, end="")
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write --output {args.output}: {exc.strerror or exc}") from None
    print(f"wrote {args.output}: locust users for {len(declared.plan.tasks)} task(s)")
    return 0


def _init(args: argparse.Namespace) -> int:
    """Write the starter files; check everything first, so a refusal writes nothing."""
    directory: Path = args.dir
    service = directory.resolve().name if args.service is None else args.service
    values = {"url": _checked_url(args.url), "service": _escaped_service(service)}
    files = [
        (directory / name, _render(template, values), purpose)
        for name, template, purpose in INIT_FILES
    ]
    if directory.exists() and not directory.is_dir():
        raise CommandError(f"--dir {directory}: not a directory")
    existing = [str(path) for path, _, _ in files if path.exists()]
    if existing and not args.force:
        it, exist = ("them", "exist") if len(existing) > 1 else ("it", "exists")
        raise CommandError(
            f"{' and '.join(existing)} already {exist}: pass --force to overwrite {it}; "
            "nothing was written"
        )
    _write(directory, [(path, content) for path, content, _ in files], force=args.force)
    for path, _, purpose in files:
        print(f"wrote {path}: {purpose}")
    here = directory.resolve() == Path.cwd().resolve()
    command = NEXT_COMMAND if here else f"cd {shlex.quote(str(directory))} && {NEXT_COMMAND}"
    print(f"next: edit staging.toml, then run\n    {command}")
    return 0


def _write(directory: Path, files: list[tuple[Path, bytes]], *, force: bool) -> None:
    """Create `directory` and the files; without `force`, never replace a file that appeared
    since the check."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, content in files:
            with path.open("wb" if force else "xb") as stream:
                stream.write(content)
    except OSError as exc:
        raise CommandError(
            f"cannot write {exc.filename or directory}: {exc.strerror or exc}"
        ) from None


def _checked_url(url: str) -> str:
    """`url` as it may stand inside a TOML basic string, or a `CommandError` saying why not."""
    if any(char in '"\\ ' or not char.isprintable() for char in url):
        raise CommandError(
            f"--url {url!r}: quotes, backslashes, spaces and control characters are not allowed"
        )
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise CommandError(f"--url {url!r}: expected an http:// or https:// URL with a host")
    return url


def _escaped_service(name: str) -> str:
    """The service name escaped for a TOML basic string; the name is free text but printable."""
    if not name or not name.isprintable():
        raise CommandError(f"service name {name!r}: expected printable text; pass --service NAME")
    return name.replace("\\", "\\\\").replace('"', '\\"')


def _render(template: str, values: dict[str, str]) -> bytes:
    """The template shipped in pytest_staging/templates with `${name}` replaced from `values`."""
    source = resources.files("pytest_staging").joinpath("templates").joinpath(template)
    text = string.Template(source.read_text(encoding="utf-8")).substitute(values)
    return text.encode("utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
