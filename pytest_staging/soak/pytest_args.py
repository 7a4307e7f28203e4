"""What the soak reads from the pytest arguments it repeats, and what it refuses in them.

The arguments are saved in the state folder to resume the soak, so nothing secret may be
among them: a token, a header or a URL with a password goes in the environment variable
that every run inherits. `--staging-report` belongs to the soak (one report per run).

The manifest whose `[soak]` table the soak applies is found the way a run finds it, as far
as the arguments and the environment tell: `--staging-manifest`, then
`PYTEST_STAGING_MANIFEST`, then the demo's own with `--staging-demo`, then `staging.toml` in
the current folder. (An ini key `staging_manifest` is not read: name the file on the
command line for a soak.)
"""

from __future__ import annotations

import argparse
import os
import ssl
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pytest_staging.settings import parsing
from pytest_staging.settings.manifest_choice import demo_manifest_path

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_SECRET_OPTIONS = {
    "--staging-token": "PYTEST_STAGING_TOKEN",
    "--staging-header": "PYTEST_STAGING_HEADER (one header per line)",
}


def refusals(args: Sequence[str]) -> list[str]:
    """Why these arguments cannot be repeated by a soak; empty when they can."""
    found = []
    if _given(args, "--staging-report"):
        found.append(
            "--staging-report: the soak writes each run's report itself, to "
            "--state DIR/runs/NNN.json; leave the option out"
        )
    for option, variable in _SECRET_OPTIONS.items():
        if _given(args, option):
            found.append(
                f"{option}: the soak saves its pytest arguments in --state DIR/schedule.json, "
                f"and secrets never go in a file; set {variable} instead, every run inherits it"
            )
    for url in values(args, "--staging-url"):
        if urlsplit(url).password:
            found.append(
                "--staging-url: the URL holds a password, and the soak saves its pytest "
                "arguments in a file; set PYTEST_STAGING_URL instead, every run inherits it"
            )
    return found


def values(args: Sequence[str], option: str) -> list[str]:
    """Every value given to `option`, as `--option VALUE` or `--option=VALUE`."""
    found = []
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg.startswith(f"{option}="):
            found.append(arg.partition("=")[2])
        elif arg == option and index + 1 < len(args):
            found.append(args[index + 1])
    return found


def _given(args: Sequence[str], option: str) -> bool:
    return any(arg == option or arg.startswith(f"{option}=") for arg in args)


def manifest_path(
    args: Sequence[str], environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path | None:
    """The manifest the runs use, as far as the arguments and the environment tell."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    named = values(args, "--staging-manifest") or [environ.get("PYTEST_STAGING_MANIFEST", "")]
    if named[-1]:
        path = Path(named[-1]).expanduser()
        return path if path.is_absolute() else cwd / path
    if _given(args, "--staging-demo"):
        return demo_manifest_path()
    default = cwd / "staging.toml"
    return default if default.is_file() else None


def tls_verify(
    args: Sequence[str], environ: Mapping[str, str] | None = None
) -> ssl.SSLContext | bool:
    """The TLS trust the runs use, for reading the metrics: `--staging-insecure`, then
    `--staging-ca-bundle` or its variable, else the default (which honours SSL_CERT_FILE)."""
    environ = os.environ if environ is None else environ
    try:
        insecure = parsing.flag(environ.get("PYTEST_STAGING_INSECURE", "0"))
    except argparse.ArgumentTypeError:  # the runs report it
        insecure = False
    if insecure or _given(args, "--staging-insecure"):
        return False
    bundles = values(args, "--staging-ca-bundle") or [environ.get("PYTEST_STAGING_CA_BUNDLE", "")]
    bundle = bundles[-1]
    if bundle:
        try:
            return ssl.create_default_context(cafile=str(Path(bundle).expanduser()))
        except (OSError, ssl.SSLError):
            return True  # the runs say what is wrong with it; the scrape tries the default
    return True
