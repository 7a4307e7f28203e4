"""Read the target's TLS certificate the way a client that verifies it would see it."""

from __future__ import annotations

import dataclasses
import socket
import ssl
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from pytest_staging.http.target import address

if TYPE_CHECKING:
    from pytest_staging.settings.resolution import StagingSettings

E = TypeVar("E", bound=BaseException)


def cause_of(exc: BaseException, kind: type[E]) -> E | None:
    """The first exception of `kind` in `exc`'s chain (`exc` itself, then its `__cause__`,
    else `__context__`: httpx and httpcore wrap the error that tells what happened); a chain
    that loops back on itself ends the search."""
    cause: BaseException | None = exc
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, kind):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def ssl_error_in(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind `exc` (httpx wraps it in its own), if any."""
    return cause_of(exc, ssl.SSLError)


def verifying_context(settings: StagingSettings) -> ssl.SSLContext:
    """The trust the session's client uses (`--staging-ca-bundle`, else SSL_CERT_FILE /
    SSL_CERT_DIR, else certifi), but always verifying, even under `--staging-insecure`:
    the check is whether the certificate is valid."""
    import httpx

    from pytest_staging.http.client import tls_verify

    verify = tls_verify(dataclasses.replace(settings, insecure=False))
    return verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context()


def certificate_expiry(url: str, context: ssl.SSLContext, timeout: float) -> datetime:
    """When the certificate `url`'s server presents expires; raises `ssl.SSLError`
    (e.g. `SSLCertVerificationError`) when it does not verify."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or 443
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        certificate = tls.getpeercert()
    if not certificate or "notAfter" not in certificate:
        raise ssl.SSLError(f"{address(host, port)} presented no certificate")
    seconds = ssl.cert_time_to_seconds(str(certificate["notAfter"]))
    return datetime.fromtimestamp(seconds, UTC)


def audited_expiry(url: str, settings: StagingSettings) -> datetime | None:
    """The expiry of an HTTPS target's certificate for the audit block, or None: plain HTTP,
    or a certificate that does not verify (the readiness check has already said why)."""
    if urlsplit(url).scheme != "https":
        return None
    try:
        return certificate_expiry(url, verifying_context(settings), settings.timeout)
    except (OSError, ValueError):  # ssl.SSLError is an OSError
        return None
