"""Security: responses carry the headers that keep browsers safe, with values that do:
HSTS kept long enough, no MIME sniffing, no framing by sites the manifest does not list.

Browsers act on values, so the checks judge values: `max-age=0` tells a browser to forget
HSTS, and `frame-ancestors *` lets any site frame the page. Each finding names the header,
the value found, what is expected and the manifest key that sets it."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from pytest_staging.manifest import Manifest, Security
from pytest_staging.redaction import excerpt, shown

pytestmark = pytest.mark.security
FRAME_OPTIONS = {"deny", "sameorigin"}
"""The X-Frame-Options values that refuse other sites when alone."""
KEYWORDS = {*FRAME_OPTIONS, "allowall"}
"""Any of these beside another X-Frame-Options value makes browsers refuse all framing."""
HTTP_WHITESPACE = " \t\r\n"
TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
QUOTED = r'"(?:[^"\\]|\\.)*"'
QUOTES = re.compile(rf'{QUOTED}|(?P<lone>")|[^"]+')
"""Quoted strings left to right; a `lone` quote is one never closed."""
HSTS_DIRECTIVE = re.compile(
    rf"[ \t]*(?:(?P<name>{TOKEN})[ \t]*(?:=[ \t]*(?P<value>{TOKEN}|{QUOTED})[ \t]*)?)?"
    r"(?P<separator>;|\Z)"
)
"""One `[ directive ] ( ";" | end )` of RFC 6797 6.1, with the blanks it allows around them."""
ASCII_DIGITS = re.compile(r"[0-9]+")
MAX_AGE_NOT_SECONDS = "max-age is not a number of seconds (ASCII digits)"
MAX_AGE_DIGITS = 18
"""A longer max-age overflows the 64-bit integers browsers read it into, and they disagree
on what it then means: it is refused rather than guessed (and never reaches `int()`, which
raises past 4300 digits)."""
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
    if problem is not None and len(values) > 1:
        problem += (
            f" ({len(values)} Strict-Transport-Security headers: browsers obey only the first)"
        )
    assert problem is None, f"GET {security_path}: {problem}"


def test_content_type_sniffing_is_off(answer: httpx.Response, security_path: str) -> None:
    """Fetch's "determine nosniff" reads only the first comma-separated value, so a header
    sent twice (a proxy's and the app's, joined as "nosniff, nosniff") still protects."""
    values = answer.headers.get_list("x-content-type-options")
    if values and ascii_lower(values[0].partition(",")[0]) == "nosniff":
        return
    if not values:
        found = "missing; expected nosniff"
    else:
        quoted = excerpt(", ".join(values), 120)
        found = f'"{quoted}"; expected nosniff (browsers read its first value only)'
    pytest.fail(
        f"GET {security_path}: X-Content-Type-Options is {found}",
        pytrace=False,
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
    found = f'Strict-Transport-Security is "{excerpt(value, 120)}"'
    directives, malformed = hsts_directives(value)
    if malformed:
        return f"{found}, which is malformed ({malformed}), so browsers ignore it; {expected}"
    if int(directives["max-age"] or 0) < security.hsts_min_age:  # checked: a few ASCII digits
        return f"{found}; {expected}"
    if security.hsts_include_subdomains and "includesubdomains" not in directives:
        return f"{found}; expected includeSubDomains ([security] hsts_include_subdomains = true)"
    return None


def hsts_directives(value: str) -> tuple[dict[str, str | None], str]:
    """The directives by lower-case name (None: no value), and why browsers ignore the whole
    header ("" when they do not). RFC 6797 6.1: `directive *( ";" directive )`, a name is a
    token, a value a token or a quoted-string; each directive at most once; `max-age` is
    ASCII digits and `includeSubDomains` takes no value."""
    directives: dict[str, str | None] = {}
    position = 0
    while True:
        item = HSTS_DIRECTIVE.match(value, position)
        if item is None:
            return directives, unreadable(value[position:])
        name, argument, separator = item.group("name", "value", "separator")
        if name:
            name = name.lower()
            if name in directives:
                return directives, f"{shown(name)} appears twice"
            directives[name] = unquoted(argument)
        if not separator:
            break
        position = item.end()
    return directives, directive_problem(directives)


def unreadable(rest: str) -> str:
    """Why the directive `rest` starts with breaks the grammar."""
    if any(part.group("lone") for part in QUOTES.finditer(rest)):
        return "a quoted string is not closed"
    directive = rest.partition(";")[0].strip(" \t")
    if directive.partition("=")[0].rstrip(" \t").lower() == "max-age":
        return MAX_AGE_NOT_SECONDS
    return f'"{excerpt(directive, 60)}" is not a name, or a name = a token or quoted-string'


def unquoted(argument: str | None) -> str | None:
    """A directive's value as the RFC reads it: a quoted-string loses its quotes and escapes."""
    if argument is None or not argument.startswith('"'):
        return argument
    return re.sub(r"\\(.)", r"\1", argument[1:-1])


def directive_problem(directives: dict[str, str | None]) -> str:
    """Why the directives a header holds are not an HSTS policy ("" when they are)."""
    if "max-age" not in directives:
        return "no max-age"
    age = directives["max-age"]
    if age is None or not ASCII_DIGITS.fullmatch(age):
        return MAX_AGE_NOT_SECONDS
    if len(age.lstrip("0")) > MAX_AGE_DIGITS:
        return f"max-age has more than {MAX_AGE_DIGITS} digits"
    if directives.get("includesubdomains") is not None:
        return "includeSubDomains takes no value"
    return ""


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


def ascii_lower(value: str) -> str:
    """A header value trimmed of HTTP whitespace and lower-cased as browsers compare it:
    ASCII only (Python's own casing would read a long s, U+017F, as an s)."""
    value = value.strip(HTTP_WHITESPACE)
    return value.lower() if value.isascii() else value


def origin_key(source: str) -> str:
    """A source as compared: keywords and origins are case-insensitive, a final / is noise."""
    return source.lower().rstrip("/")


def frame_options_problem(values: list[str]) -> str | None:
    """`X-Frame-Options` as HTML reads it (its values, ASCII lower-cased, as a set): DENY or
    SAMEORIGIN alone refuses other sites, and so does DENY, SAMEORIGIN or ALLOWALL beside
    another value (conflicting values refuse all framing); ALLOW-FROM or anything else alone
    is ignored."""
    options = {ascii_lower(option) for value in values for option in value.split(",")}
    if options <= FRAME_OPTIONS if len(options) == 1 else options & KEYWORDS:
        return None
    if not options:
        return (
            "neither Content-Security-Policy frame-ancestors nor X-Frame-Options is set; "
            f"{FRAME_EXPECTED}, or X-Frame-Options DENY or SAMEORIGIN"
        )
    found = excerpt(", ".join(values), 120)
    return (
        f'X-Frame-Options is "{found}"; expected DENY or SAMEORIGIN (to let other sites frame '
        "it, send Content-Security-Policy frame-ancestors and list them in "
        "[security] frame_ancestors)"
    )
