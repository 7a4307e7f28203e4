"""Every option resolved once into a frozen `StagingSettings`, kept in `config.stash`.

Each module has one job; data flows down the list:

- `defaults`: every default a setting shares with the code that uses it (retries, timeouts,
  the body cap), written once;
- `options`: the option table: each setting's flag, ini key, environment variable, parser;
- `parsing`: the parsers the table names, one message style for every source, and the one
  unknown-category message;
- `environments`: which environment a URL lies in (the sensitive one above all) and which
  origin it belongs to: one rule each, for the settings, the guard and the HTTP client;
- `manifest_choice`: which manifest the run uses, the named environment's URL in it, and the
  checks that need other settings;
- `resolution`: command line > environment > ini > manifest > default, into `StagingSettings`.

Nothing here reads a file the run does not need to start (`--staging-baseline` is a path;
the controller reads it). `StagingSettings` is exported here too, imported on first use:
`pytest_addoption` reads `options` in every run, with a target or without.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_staging.exports import lazy

if TYPE_CHECKING:
    from pytest_staging.settings.resolution import StagingSettings

__all__ = ["StagingSettings"]

__getattr__, __dir__ = lazy(__name__, {"StagingSettings": "pytest_staging.settings.resolution"})
