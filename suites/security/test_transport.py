"""Security: an HTTPS service redirects plain HTTP to HTTPS, and its certificate is valid
and not about to expire. On a plain-HTTP target both fail or skip as `[security] https` says
(`require_https` in the suites' conftest)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest

from pytest_staging import StagingTarget
from pytest_staging.http.tls import certificate_expiry, verifying_context
from pytest_staging.manifest import Manifest
from pytest_staging.redaction import excerpt
from pytest_staging.settings import StagingSettings

pytestmark = pytest.mark.security
REDIRECTS = {301, 302, 303, 307, 308}
URL_BLANKS = "".join(map(chr, range(33)))
"""The URL parser strips C0 controls and spaces around a URL."""


def test_plain_http_is_redirected_to_https(
    staging_target: StagingTarget,
    staging_anonymous_client: httpx.Client,
    staging_manifest: Manifest,
    require_https: Callable[[], None],
) -> None:
    require_https()
    port = staging_manifest.security.http_port
    if port == 0:
        pytest.skip("security.http_port = 0: the service serves no plain HTTP")
    host = urlsplit(staging_target.url).hostname or ""
    host = f"[{host}]" if ":" in host else host
    plain = f"http://{host}:{port}{staging_manifest.health.path}"
    try:
        response = staging_anonymous_client.get(plain, follow_redirects=False)
    except httpx.TransportError as exc:
        problem = (
            f"GET {plain} got no answer ({type(exc).__name__}: {exc}); expected a redirect "
            "to https://. If plain HTTP is closed on purpose, set security.http_port = 0"
        )
        raise pytest.fail.Exception(problem, pytrace=False) from None
    refused = redirect_problem(response)
    if refused is not None:
        pytest.fail(f"GET {plain} {refused}; expected a redirect to https://", pytrace=False)


def redirect_problem(response: httpx.Response) -> str | None:
    """What keeps a browser from following the answer to HTTPS, or None: a redirect status
    and one Location (browsers refuse a redirect with two) whose scheme, in any case, is
    https (`HTTPS://` and `https:host` count as the URL parser reads them)."""
    locations = response.headers.get_list("location")
    first = locations[0].strip(URL_BLANKS).lower() if locations else ""
    if response.status_code in REDIRECTS and len(locations) == 1 and first.startswith("https:"):
        return None
    found = ", ".join(f'"{excerpt(location, 120)}"' for location in locations) or "none"
    many = f" ({len(locations)} Location headers)" if len(locations) > 1 else ""
    return f"answered {response.status_code} with Location {found}{many}"


def test_tls_certificate_is_valid_and_not_expiring(
    staging_target: StagingTarget,
    staging_settings: StagingSettings,
    staging_manifest: Manifest,
    require_https: Callable[[], None],
) -> None:
    require_https()
    try:
        expires = certificate_expiry(
            staging_target.url, verifying_context(staging_settings), staging_settings.timeout
        )
    except (ssl.SSLError, OSError) as exc:
        problem = f"{staging_target.url}: the TLS certificate does not verify: {exc}"
        raise pytest.fail.Exception(problem, pytrace=False) from None
    days_left = (expires - datetime.now(UTC)).total_seconds() / 86400
    minimum = staging_manifest.security.tls_min_days
    assert days_left >= minimum, (
        f"{staging_target.url}: the TLS certificate expires {expires:%Y-%m-%d %H:%M} UTC, "
        f"in {days_left:.1f} days; security.tls_min_days asks for at least {minimum}"
    )
