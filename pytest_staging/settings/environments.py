"""Which environment a URL lies in, and which origin it belongs to: one rule for each.

The settings mark a run sensitive by its target, the destructive-test guard follows the
target's redirects with the same rule, and the HTTP client keeps credentials on the
target's origin. A URL in a sensitive environment is never made safe by its scheme:
`http://` and `https://` of one host are one environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Iterable

    import httpx

    from pytest_staging.manifest.records import Environment

Origin = tuple[str, str, int | None]
"""Scheme, host and port: what two URLs must share to be sent the same credentials."""

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str | httpx.URL) -> Origin:
    """Scheme and host lower-cased, the default port filled in (http 80, https 443)."""
    if isinstance(url, str):
        # httpx costs ~100 ms to import, and every pytest run imports this module (through
        # the settings); only the HTTP client, which has imported httpx already, needs it.
        import httpx

        url = httpx.URL(url)
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or DEFAULT_PORTS.get(scheme)


def in_environment(url: str, environment_url: str) -> bool:
    """Whether `url` lies in the environment at `environment_url`: the same host whatever the
    scheme (`http://` and `https://` of one host are one environment, so a plain-HTTP URL
    does not make production safe), the same port where both URLs name one, and a path at
    or under the environment's. A URL that does not parse is compared as text."""
    here, there = urlsplit(url.strip()), urlsplit(environment_url.strip())
    try:
        ports = (here.port, there.port)
    except ValueError:
        return url.strip().rstrip("/") == environment_url.strip().rstrip("/")
    same_port = None in ports or ports[0] == ports[1]
    under = (here.path.rstrip("/") + "/").startswith(there.path.rstrip("/") + "/")
    return bool(here.hostname) and here.hostname == there.hostname and same_port and under


def sensitive_environment(
    environments: Iterable[Environment], url: str | None, *, chosen: str | None = None
) -> str | None:
    """The name of the sensitive environment the run (or a URL it reaches) is in: the one
    `chosen` by name, or the one `url` lies in (`--staging-url https://api.example.com`
    does not make production safe). None when no sensitive environment is involved."""
    sensitive = [environment for environment in environments if environment.sensitive]
    for environment in sensitive:
        if environment.name == chosen:
            return environment.name
    for environment in sensitive:
        if url is not None and environment.url and in_environment(url, environment.url):
            return environment.name
    return None
