"""The session-wide `httpx.Client`: pooled, TLS-aware, authenticated, timed and retried.

`build_client` stacks its transports, outermost first:
- `RetryTransport` (`retrying.py`): idempotent requests are tried again on
  connection failures and 502/503/504, bounded in count and time; only for
  clients whose retries can be reported;
- `TimedTransport` (`transports.py`): times each attempt from send to body close
  into the `PhaseLog`, holds it to its deadline (`deadlines.py`) and its body to
  --staging-max-body (`body_limits.py`);
- `SameOriginCredentials` (`transports.py`): a request to any other origin than
  the target's leaves without Authorization, Cookie and the `--staging-header` names;
- httpx's `HTTPTransport`, its connection pool reading and writing through
  `deadlines.DeadlineBackend`, the one place every byte passes. The client sets
  `trust_env=False` and takes the proxy for the target from the environment
  itself (`proxy_for`), so proxied requests are timed by the same transports.

Its event hooks register the secrets it sees on the wire (`wire_secrets.py`).
"""

from __future__ import annotations

import urllib.request
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from pytest_staging.http.body_limits import accept_encoding, max_body_bytes
from pytest_staging.http.deadlines import request_deadline, with_deadlines
from pytest_staging.http.failures import failure_line
from pytest_staging.http.retrying import RetryTransport, retry_policy
from pytest_staging.http.tls import tls_verify
from pytest_staging.http.transports import SameOriginCredentials, TimedTransport
from pytest_staging.http.wire_secrets import WireSecrets

if TYPE_CHECKING:
    from pytest_staging.http.target import StagingTarget
    from pytest_staging.phase_log import PhaseLog
    from pytest_staging.settings.resolution import StagingSettings

# failure_line and tls_verify live in failures.py and tls.py; run/report_data.py and
# run/destructive.py import them from here.
__all__ = ["build_client", "default_headers", "failure_line", "proxy_for", "tls_verify"]

USER_AGENT = "pytest-staging"


def proxy_for(url: str) -> str | None:
    """The proxy the environment asks for to reach `url`, unless NO_PROXY exempts it."""
    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return urllib.request.getproxies_environment().get(parts.scheme)


def default_headers(settings: StagingSettings) -> dict[str, str]:
    """The headers every request carries: the User-Agent, `--staging-token` as a Bearer
    credential and the `--staging-header` values (locust's users are sent them too)."""
    headers = {"User-Agent": USER_AGENT}
    if settings.token is not None:
        headers["Authorization"] = f"Bearer {settings.token.reveal()}"
    headers.update((name, value.reveal()) for name, value in settings.headers)
    return headers


def build_client(
    settings: StagingSettings,
    target: StagingTarget,
    log: PhaseLog,
    *,
    retry: bool = False,
) -> httpx.Client:
    """One pooled client for the whole session, every request (each attempt) timed into `log`.

    With `retry`, transient failures are tried again (`--staging-retries`) and each retry
    that rescued a request is reported to `log`, so a test that needed one is listed as
    flaky. A client without it, like the readiness probe's, does not retry:
    `--staging-wait` is its retry loop.
    """
    inner = with_deadlines(
        httpx.HTTPTransport(verify=tls_verify(settings), proxy=proxy_for(target.url))
    )
    secret_names = [name for name, _ in settings.headers]
    transport: httpx.BaseTransport = TimedTransport(
        SameOriginCredentials(inner, target.url, secret_names),
        log,
        deadline_s=request_deadline(settings),
        max_body=max_body_bytes(settings),
    )
    if retry and settings.retries > 0:
        transport = RetryTransport(transport, retry_policy(settings), lambda _: log.add_retry())
    auth = None
    if target.username is not None and target.password is not None:
        auth = httpx.BasicAuth(target.username, target.password.reveal())
    return httpx.Client(
        base_url=target.url,
        headers={"Accept-Encoding": accept_encoding(), **default_headers(settings)},
        auth=auth,
        timeout=settings.timeout,
        transport=transport,
        trust_env=False,
        event_hooks=WireSecrets().event_hooks(),
    )
