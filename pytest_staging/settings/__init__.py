"""Every option resolved once into a frozen `StagingSettings`, kept in `config.stash`.

Each module has one job; data flows down the list:

- `options`: the option table: each setting's flag, ini key, environment variable, parser;
- `parsing`: the parsers the table names, one message style for every source;
- `manifest_choice`: which manifest the run uses, and the checks that need other settings;
- `resolution`: command line > environment > ini > manifest > default, into `StagingSettings`.

`StagingSettings` is exported here too, imported on first use: `pytest_addoption` reads
`options` in every run, with a target or without.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_staging.exports import lazy

if TYPE_CHECKING:
    from pytest_staging.settings.resolution import StagingSettings

__all__ = ["StagingSettings"]

__getattr__, __dir__ = lazy(__name__, {"StagingSettings": "pytest_staging.settings.resolution"})
