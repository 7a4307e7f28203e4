"""pytest-staging: verify a freshly deployed staging environment and decide GO / NO-GO.

The pytest plugin itself lives in `pytest_staging.plugin` (loaded through the
`pytest11` entry point). This package exports what tests import directly:
the response assertions and the target type. They are imported on first use,
because pytest imports this package in every run, with a target or without.

The subpackages, from the entry points down (each imports only from those below it;
`lint-imports` checks it):

- `plugin`, `fixtures`, `cli`: what pytest and the command line call;
- `soak`: the gate run again and again, its trends judged;
- `run`: a gated pytest run: the controller, each test's data, the masking, the guard;
- `report`: the finished run rendered (terminal, JSON, Markdown, JUnit, HTML), saved
  reports read back and compared;
- `performance`: latency sampled and summarised, budgets and load runs held to limits;
- `http`: the target, the session client, its retries, TLS, login and readiness;
- `settings`: every option resolved once, from the command line down to the manifest;
- `manifest`: the service's description read, checked and built into records;
- `load`: a locust run planned, run in a subprocess and read back;
- the leaves: `gate` (the verdict), `assertions`, `phase_log`, `redaction`,
  `json_pointer`, `durations`, `timing`, `files`, `markers`, `exports`, `schemas`, and
  the bundled `demo` service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_staging.exports import lazy

if TYPE_CHECKING:
    from pytest_staging.assertions import (
        assert_envelope,
        assert_health,
        assert_schema,
        assert_status,
        json_at,
        json_body,
    )
    from pytest_staging.http.target import StagingTarget

__all__ = [
    "StagingTarget",
    "assert_envelope",
    "assert_health",
    "assert_schema",
    "assert_status",
    "json_at",
    "json_body",
]

__getattr__, __dir__ = lazy(
    __name__,
    {
        "StagingTarget": "pytest_staging.http.target",
        **dict.fromkeys(__all__[1:], "pytest_staging.assertions"),
    },
)
