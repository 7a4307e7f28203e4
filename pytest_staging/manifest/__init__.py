"""The target manifest (`staging.toml`): what one service looks like to the suites.

Each module has one job; data flows down the list:

- `reader`: the file read as TOML and checked against `schemas/manifest.json`;
- `problems`: each schema error as a line that names the key path (`schemas.format_path`'s
  TOML form) and what is valid there;
- `builder`: the checked document turned into records, every default filled in;
- `records`: the frozen records the suites, the settings and the reports read.

The records are exported here too (`from pytest_staging.manifest import Manifest`), imported
on first use: naming the package costs nothing until a record or `load` is used (a run
without a target never reads a manifest).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_staging.exports import lazy

if TYPE_CHECKING:
    from pytest_staging.manifest.reader import load, validate
    from pytest_staging.manifest.records import (
        DEFAULT_FILE_NAME,
        DEFAULT_METRICS_PATH,
        HSTS_PRELOAD_MIN_AGE,
        NOT_FOUND_PATH,
        Auth,
        Cache,
        Endpoint,
        Environment,
        Health,
        Load,
        Manifest,
        ManifestError,
        MissingCredential,
        Monitoring,
        Pagination,
        Performance,
        Probe,
        RateLimit,
        Resource,
        Security,
        Soak,
    )

__all__ = [
    "DEFAULT_FILE_NAME",
    "DEFAULT_METRICS_PATH",
    "HSTS_PRELOAD_MIN_AGE",
    "NOT_FOUND_PATH",
    "Auth",
    "Cache",
    "Endpoint",
    "Environment",
    "Health",
    "Load",
    "Manifest",
    "ManifestError",
    "MissingCredential",
    "Monitoring",
    "Pagination",
    "Performance",
    "Probe",
    "RateLimit",
    "Resource",
    "Security",
    "Soak",
    "load",
    "validate",
]

_READER = ("load", "validate")

__getattr__, __dir__ = lazy(
    __name__,
    {
        name: f"pytest_staging.manifest.{'reader' if name in _READER else 'records'}"
        for name in __all__
    },
)
