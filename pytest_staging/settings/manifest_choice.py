"""Which manifest a run uses, and the checks that need the run's other settings.

The manifest named by `--staging-manifest` (or its variable or ini key)
wins; `--staging-demo` brings the demo service's own manifest; otherwise
`staging.toml` in the rootdir is used if it exists. Every problem becomes a
`pytest.UsageError` that names where the manifest came from.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_staging.gate import OTHER
from pytest_staging.manifest.reader import load
from pytest_staging.manifest.records import DEFAULT_FILE_NAME, Manifest, ManifestError

if TYPE_CHECKING:
    from collections.abc import Iterable

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


def check_categories(manifest: Manifest, categories: Iterable[str]) -> None:
    """Gates, minimum counts and endpoints may only name categories the run knows."""
    gated = (*categories, OTHER)
    named = [(f"gates.{name}", name, gated) for name in manifest.gates]
    named += [(f"gates.min_tests.{name}", name, gated) for name in manifest.min_tests]
    named += [  # "other" is where unmarked tests land; it is not a marker to put on one
        (f"endpoints[{i}].category", e.category, tuple(categories))
        for i, e in enumerate(manifest.endpoints)
    ]
    for key, name, known in named:
        if name not in known:
            raise pytest.UsageError(
                f"{manifest.path}: {key}: unknown category {name!r}; known categories: "
                f"{', '.join(known)} (declare more with the ini key staging_categories)"
            )
