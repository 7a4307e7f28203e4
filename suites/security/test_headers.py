"""Security: responses carry the headers that keep browsers safe, with values that do:
HSTS kept long enough, no MIME sniffing, no framing by sites the manifest does not list.

Browsers act on values, so the checks judge values: `max-age=0` tells a browser to forget
HSTS, and `frame-ancestors *` lets any site frame the page. Each finding names the header,
the value found, what is expected and the manifest key that sets it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from pytest_staging.manifest import Manifest, Security
from pytest_staging.redaction import excerpt, shown

pytestmark = pytest.mark.security
FRAME_OPTIONS = {"DENY", "SAMEORIGIN"}
FRAME_EXPECTED = (
    "expected frame-ancestors 'none' or 'self' (or origins listed in [security] frame_ancestors)"
)


@pytest.fixture
def answer(staging_client: httpx.Client, security_path: str) -> httpx.Response:
    return staging_client.get(security_path)


def test_strict_transport_security_is_set(
    answer: httpx.Response,
    security_path: str,
    staging_manifest: Manifest,
    require_https: Callable[[], None],
) -> None:
    require_https()
    # Browsers obey only the first Strict-Transport-Security header (RFC 6797, 8.1).
    values = answer.headers.get_list("strict-transport-security")
    problem = hsts_problem(values[0] if values else None, staging_manifest.security)
    assert problem is None, f"GET {security_path}: {problem}"


def test_content_type_sniffing_is_off(answer: httpx.Response, security_path: str) -> None:
    value = answer.headers.get("x-content-type-options", "")
    assert value.lower() == "nosniff", (
        f"GET {security_path}: X-Content-Type-Options is {shown(value) or 'missing'}, "
        "expected nosniff"
    )


def test_framing_by_other_sites_is_refused(
    answer: httpx.Response, security_path: str, staging_manifest: Manifest
) -> None:
    headers = answer.headers.get_list("content-security-policy")
    policies = [policy for header in headers for policy in header.split(",")]
    ancestors = [found for policy in policies if (found := frame_ancestors(policy)) is not None]
    if ancestors:  # browsers then ignore X-Frame-Options
        problem = ancestors_problem(ancestors, staging_manifest.security.frame_ancestors)
    else:
        problem = frame_options_problem(answer.headers.get_list("x-frame-options"))
    assert problem is None, f"GET {security_path}: {problem}"


def hsts_problem(value: str | None, security: Security) -> str | None:
    """What is wrong with a `Strict-Transport-Security` value, or None."""
    expected = f"expected max-age={security.hsts_min_age} or more ([security] hsts_min_age)"
    if value is None:
        return f"Strict-Transport-Security is missing; {expected}"
    shown = f'Strict-Transport-Security is "{excerpt(value, 120)}"'
    directives, malformed = hsts_directives(value)
    if malformed:
        return f"{shown}, which is malformed ({malformed}); {expected}"
    age = int(directives["max-age"])
    if age < security.hsts_min_age:
        return f"{shown}; {expected}"
    if security.hsts_include_subdomains and "includesubdomains" not in directives:
        return f"{shown}; expected includeSubDomains ([security] hsts_include_subdomains = true)"
    return None


def hsts_directives(value: str) -> tuple[dict[str, str], str]:
    """The directives by lower-case name, and why the value is malformed ("" when it is not):
    RFC 6797 wants each directive at most once and a `max-age` of digits."""
    directives: dict[str, str] = {}
    for part in value.split(";"):
        name, _, argument = part.strip().partition("=")
        name = name.strip().lower()
        if not name:
            continue
        if name in directives:
            return directives, f"{shown(name)} appears twice"
        directives[name] = argument.strip().strip('"')
    if "max-age" not in directives:
        return directives, "no max-age"
    if not directives["max-age"].isdigit():
        return directives, "max-age is not a number of seconds"
    return directives, ""


def frame_ancestors(policy: str) -> list[str] | None:
    """The sources of a CSP policy's first `frame-ancestors` (browsers ignore a later one),
    or None when it has none."""
    for directive in policy.split(";"):
        words = directive.split()
        if words and words[0].lower() == "frame-ancestors":
            return words[1:]
    return None


def ancestors_problem(found: list[list[str]], listed: tuple[str, ...]) -> str | None:
    """Browsers enforce every policy, so one that allows only 'none', 'self' and the listed
    origins protects the page; otherwise the sources that let other sites in are named."""
    allowed = {"'self'", "'none'", *(origin_key(origin) for origin in listed)}
    extra = [[one for one in sources if origin_key(one) not in allowed] for sources in found]
    if not all(extra):
        return None
    named = ", ".join(dict.fromkeys(excerpt(source, 80) for sources in extra for source in sources))
    return f"Content-Security-Policy frame-ancestors allows {named}; {FRAME_EXPECTED}"


def origin_key(source: str) -> str:
    """A source as compared: keywords and origins are case-insensitive, a final / is noise."""
    return source.lower().rstrip("/")


def frame_options_problem(values: list[str]) -> str | None:
    """`X-Frame-Options` must be DENY or SAMEORIGIN; ALLOW-FROM is ignored by browsers."""
    options = [option.strip().upper() for value in values for option in value.split(",")]
    if options and set(options) <= FRAME_OPTIONS:
        return None
    if not options:
        return (
            "neither Content-Security-Policy frame-ancestors nor X-Frame-Options is set; "
            f"{FRAME_EXPECTED}, or X-Frame-Options DENY or SAMEORIGIN"
        )
    shown = excerpt(", ".join(values), 120)
    return (
        f'X-Frame-Options is "{shown}"; expected DENY or SAMEORIGIN (to let other sites frame '
        "it, send Content-Security-Policy frame-ancestors and list them in "
        "[security] frame_ancestors)"
    )
