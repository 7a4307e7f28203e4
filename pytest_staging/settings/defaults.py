"""Every default that a setting and the code that uses it would otherwise both write down.

The option table shows these in `--help`, `StagingSettings` starts from them, and the
layers above (the HTTP client, the retry policy) import them from here, so a default is
changed in one place. Values only: nothing here reads an option or the environment.
"""

from __future__ import annotations

ENVIRONMENT = "staging"
"""The environment name a run reports (and picks from the manifest) when none is given."""

TIMEOUT_S = 10.0
"""--staging-timeout: seconds a request may wait for each step (connect, read, write)."""

DEADLINE_TIMEOUTS = 3
"""--staging-request-deadline's default, in multiples of --staging-timeout: room for a
connect, the headers and a body that each take close to the timeout, not for a drip."""

MAX_BODY_MIB = 64
"""--staging-max-body's default in MiB: far above any answer a staging check reads (JSON,
pages, metrics), while a test that keeps a few such bodies, on each xdist worker, still
fits a CI runner's memory. A decompression bomb (10 MB of gzip that inflate to 10 GB)
stops here."""
MAX_BODY_BYTES = MAX_BODY_MIB * 1024 * 1024

RETRIES = 2
"""--staging-retries: how many times an idempotent request may be sent again."""
MAX_RETRIES = 10
"""More retries than this only hide a broken target (the deadline bounds them anyway)."""
RETRY_ON: tuple[int, ...] = (502, 503, 504)
"""--staging-retry-on: the statuses that are retried (a gateway that has no answer yet)."""
RETRY_DEADLINE_S = 10.0
"""How long the retries of one request may take in all."""
RETRY_AFTER_CAP_S = 5.0
"""The longest `Retry-After` that is honoured; a longer one is waited for this long."""
