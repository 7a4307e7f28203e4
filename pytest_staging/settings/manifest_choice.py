"""Which manifest a run uses, the URL of the environment a run names in it, and the
checks that need the run's other settings.

The manifest named by `--staging-manifest` (or its variable or ini key)
wins; `--staging-demo` brings the demo service's own manifest; otherwise
`staging.toml` in the rootdir is used if it exists. Every problem becomes a
`pytest.UsageError` that names where the manifest came from.
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_staging.manifest.reader import load
from pytest_staging.manifest.records import DEFAULT_FILE_NAME, Manifest, ManifestError
from pytest_staging.markers import OTHER
from pytest_staging.settings import parsing

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_staging.settings.options import Found


def demo_manifest_path() -> Path:
    """The manifest that describes the bundled demo service."""
    return Path(str(resources.files("pytest_staging.demo").joinpath(DEFAULT_FILE_NAME)))


def find(config: pytest.Config, found: Found, *, demo: bool) -> Manifest:
    """The run's manifest, or `Manifest()` when there is none."""
    if found.value is not None:
        path = _given_path(config, found)
        return _load(path, f"{found.source} ({path})")
    if demo:
        return _load(demo_manifest_path(), "the demo service's manifest")
    default = config.rootpath / DEFAULT_FILE_NAME
    if default.is_file():
        return _load(default, f"{DEFAULT_FILE_NAME} in the rootdir")
    return Manifest()


def _given_path(config: pytest.Config, found: Found) -> Path:
    """Command line and environment paths are relative to where pytest was started,
    an ini key's to the ini file."""
    path = Path(str(found.value)).expanduser()
    if path.is_absolute():
        return path
    if found.rank == 2 and config.inipath is not None:
        return config.inipath.parent / path
    return config.invocation_params.dir / path


def _load(path: Path, origin: str) -> Manifest:
    try:
        return load(path)
    except ManifestError as error:
        problems = "\n".join(f"  {problem}" for problem in error.problems)
        raise pytest.UsageError(
            f"invalid manifest, {origin}:\n{problems}\n(see docs/manifest.md for every key)"
        ) from None


def environment_url(manifest: Manifest, env: Found) -> str | None:
    """The manifest's URL for the environment, when the run named one or the manifest."""
    environment = manifest.environments.get(env.value)
    if environment is None:
        if env.rank == 3:
            return None
        if manifest.path is None:
            raise pytest.UsageError(
                f"{env.source}={env.value} names an environment, but no manifest describes it: "
                f"give --staging-manifest PATH (or put {DEFAULT_FILE_NAME} in the rootdir), "
                "or give the URL with --staging-url"
            )
        known = ", ".join(manifest.environments) or "none"
        raise pytest.UsageError(
            f"{env.source}={env.value}: {manifest.path} has no [environments.{env.value}] "
            f"(declared: {known}); add it, or give the URL with --staging-url"
        )
    try:
        return parsing.url(environment.url)
    except argparse.ArgumentTypeError as exc:
        raise pytest.UsageError(f"{manifest.path}: environments.{env.value}.url: {exc}") from None


def check_categories(manifest: Manifest, categories: Sequence[str]) -> None:
    """Gates, minimum counts and endpoints may only name categories the run knows."""
    gated = (*categories, OTHER)
    named = [(f"gates.{name}", name, gated) for name in manifest.gates]
    named += [(f"gates.min_tests.{name}", name, gated) for name in manifest.min_tests]
    named += [  # "other" is where unmarked tests land; it is not a marker to put on one
        (f"endpoints[{i}].category", e.category, tuple(categories))
        for i, e in enumerate(manifest.endpoints)
    ]
    for key, name, known in named:
        problem = parsing.unknown_category(name, known)
        if problem is not None:
            raise pytest.UsageError(f"{manifest.path}: {key}: {problem}")
