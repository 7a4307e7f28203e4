"""`--staging-suites`: the ready-made suites that ship inside the package join the run.

The repository's `suites/` folder is installed as the `pytest_staging.suites`
package, so a pip user runs exactly the code the repository tests.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

import pytest


def suites_dir() -> Path:
    """Where the bundled suites are installed."""
    spec = find_spec("pytest_staging.suites")
    if spec is None or spec.origin is None:
        raise pytest.UsageError(
            "--staging-suites: the bundled suites are missing from this installation; "
            "reinstall pytest-staging"
        )
    return Path(spec.origin).parent


def add_to_run(config: pytest.Config) -> None:
    """Add the suites to the paths given, or run them instead of `testpaths`."""
    path = str(suites_dir())
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        config.args.append(path)
    else:
        config.args[:] = [path]
