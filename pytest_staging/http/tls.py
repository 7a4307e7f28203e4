"""The target's TLS: what the client trusts, and its certificate as a verifying client sees it.

Also what a TLS failure was: the error behind httpx's own (`ssl_error_in`) and, for a
certificate that does not verify, the one sentence with the way out (`certificate_problem`)
that both a test's failure and the readiness wait give.
"""

from __future__ import annotations

import dataclasses
import socket
import ssl
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import httpx

from pytest_staging.http.target import address

if TYPE_CHECKING:
    from pytest_staging.settings.resolution import StagingSettings

E = TypeVar("E", bound=BaseException)


def tls_verify(settings: StagingSettings) -> ssl.SSLContext | bool:
    """What to verify the target's certificate against (httpx honours SSL_CERT_FILE)."""
    if settings.insecure:
        return False
    if settings.ca_bundle is not None:
        return ssl.create_default_context(cafile=str(settings.ca_bundle))
    return True


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


def certificate_problem(exc: BaseException) -> str | None:
    """One sentence with the way out when `exc` comes from a certificate that does not verify
    (untrusted, expired, another host's), else None."""
    cause = ssl_error_in(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        what = cause.verify_message or cause.reason or "it does not verify"
        return (
            f"the target's TLS certificate does not verify ({what}): for a private CA pass "
            "--staging-ca-bundle PATH or set SSL_CERT_FILE; an expired certificate or one "
            "for another host must be fixed on the target; --staging-insecure skips the "
            "check, and every report then says so"
        )
    return None


def verifying_context(settings: StagingSettings) -> ssl.SSLContext:
    """The trust the session's client uses (`--staging-ca-bundle`, else SSL_CERT_FILE /
    SSL_CERT_DIR, else certifi), but always verifying, even under `--staging-insecure`:
    the check is whether the certificate is valid."""
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
