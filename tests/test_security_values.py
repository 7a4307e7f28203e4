"""The security suite judges header values and the target's scheme on servers we did not
write: Debian's nginx over TLS serving each kind of header (good and bad), and httpbin under
gunicorn, a third-party app that answers any header it is asked for, alone and behind nginx.

The servers are in `third_party.py`; the suites' other runs (the demo in every mode, a plain
API over TLS) are in `test_suites.py`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from inner_run import INNER_RUN_OPTIONS
from third_party import Nginx, Page, httpbin, nginx  # noqa: F401  (fixtures)

if TYPE_CHECKING:
    from collections.abc import Callable

SECURITY = Path(__file__).resolve().parents[1] / "suites" / "security"
HEADERS = SECURITY / "test_headers.py"
TRANSPORT = SECURITY / "test_transport.py"
Report = dict[str, Any]

YEAR = "max-age=31536000; includeSubDomains"
LISTED = 'frame_ancestors = ["https://admin.example.com"]\n'
"""The manifest line that lets SOUND's framing origin in."""
SOUND = {  # every header right: a page overrides one of them to break only that check
    "Strict-Transport-Security": YEAR,
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'self' https://admin.example.com",
}
HTTPS_OPTIONAL = (
    'the target is plain HTTP and [[]security[]] https = "optional": HTTPS checks skipped'
)
HTTPS_NOT_SENSITIVE = (
    "the target is plain HTTP, [[]security[]] https is not set, and environment 'staging' is "
    "not marked sensitive: HTTPS checks skipped (to require HTTPS, set [[]security[]] https = "
    '"required")'
)
"""The skip reasons as fnmatch patterns: what made HTTPS optional, the manifest or the
default."""


def page(**headers: str) -> Page:
    """A JSON page with the sound headers, except those given (an empty value drops one)."""
    merged = {**SOUND, **{name.replace("_", "-"): value for name, value in headers.items()}}
    return Page(
        '{"status": "healthy"}',
        "application/json",
        {name: value for name, value in merged.items() if value},
    )


def manifest(url: str, paths: list[str], extra: str = "", http_port: int = 0) -> str:
    listed = ", ".join(f'"{path}"' for path in paths)
    return (
        f'[environments.staging]\nurl = "{url}"\n\n[health]\npath = "{paths[0]}"\n\n'
        f"[security]\npaths = [{listed}]\nhttp_port = {http_port}\n{extra}"
    )


def run_security(
    pytester: pytest.Pytester,
    text: str,
    *options: str,
    files: tuple[Path, ...] = (HEADERS,),
    subprocess: bool = False,
) -> tuple[pytest.RunResult, Path]:
    pytester.makefile(".toml", staging=text)
    report = pytester.path / "gate.json"
    run = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    result = run(
        *INNER_RUN_OPTIONS,
        *map(str, files),
        "--staging-manifest=staging.toml",
        "--staging-env=staging",
        f"--staging-report={report}",
        "-rs",
        *options,
    )
    return result, report


def outcomes(report: Report, outcome: str) -> set[str]:
    return {
        t["nodeid"].partition("security/")[2] for t in report["tests"] if t["outcome"] == outcome
    }


def test_nginx_with_sound_values_is_go_on_every_security_check(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    nginx: Callable[..., Nginx],  # noqa: F811
) -> None:
    """HSTS for a year over subdomains, a listed framing origin, DENY; the certificate and
    the redirect from plain HTTP too."""
    server = nginx(
        {
            "/health": page(),
            "/legacy": page(Content_Security_Policy="", X_Frame_Options="SAMEORIGIN"),
            "/strict": page(Content_Security_Policy="frame-ancestors 'none'"),
        }
    )
    text = manifest(
        server.url,
        ["/health", "/legacy", "/strict"],
        'hsts_include_subdomains = true\nframe_ancestors = ["https://admin.example.com"]\n',
        http_port=server.http_port,
    )
    result, path = run_security(
        pytester, text, f"--staging-ca-bundle={server.ca_pem}", files=(HEADERS, TRANSPORT)
    )
    report = read_report(path)

    assert result.ret == 0, result.stdout.str()
    assert report["verdict"] == "GO"
    assert report["categories"]["security"]["passed"] == 11  # 3 checks x 3 paths, 2 transport


BAD_PAGES = {  # path: (the failing check, its message after "GET path: ")
    "/hsts-zero": (
        {"Strict_Transport_Security": "max-age=0"},
        "strict_transport_security_is_set",
        'Strict-Transport-Security is "max-age=0"; expected max-age=31536000 or more ([[]security[]] hsts_min_age)',
    ),
    "/hsts-day": (
        {"Strict_Transport_Security": "max-age=86400; includeSubDomains"},
        "strict_transport_security_is_set",
        'Strict-Transport-Security is "max-age=86400; includeSubDomains"; expected max-age=31536000 or more*',
    ),
    "/hsts-malformed": (
        {"Strict_Transport_Security": "max-age=forever; includeSubDomains"},
        "strict_transport_security_is_set",
        'Strict-Transport-Security is "max-age=forever; includeSubDomains", which is malformed (max-age is not a number of seconds (ASCII digits)), so browsers ignore it; expected*',
    ),
    "/hsts-twice": (
        {"Strict_Transport_Security": "max-age=31536000; max-age=63072000"},
        "strict_transport_security_is_set",
        "Strict-Transport-Security is * which is malformed (max-age appears twice)*",
    ),
    "/hsts-no-subdomains": (
        {"Strict_Transport_Security": "max-age=63072000"},
        "strict_transport_security_is_set",
        'Strict-Transport-Security is "max-age=63072000"; expected includeSubDomains ([[]security[]] hsts_include_subdomains = true)',
    ),
    "/csp-star": (
        {"Content_Security_Policy": "frame-ancestors *", "X_Frame_Options": "DENY"},
        "framing_by_other_sites_is_refused",
        "Content-Security-Policy frame-ancestors allows *; expected frame-ancestors 'none' or 'self' (or origins listed in [[]security[]] frame_ancestors)",
    ),
    "/csp-scheme": (
        {"Content_Security_Policy": "frame-ancestors 'self' https:"},
        "framing_by_other_sites_is_refused",
        "Content-Security-Policy frame-ancestors allows https:; expected*",
    ),
    "/csp-wildcard-host": (
        {"Content_Security_Policy": "frame-ancestors https://*.example.com"},
        "framing_by_other_sites_is_refused",
        "Content-Security-Policy frame-ancestors allows https://[*].example.com; expected*",
    ),
    "/csp-other-origin": (
        {"Content_Security_Policy": "frame-ancestors 'self' https://evil.example"},
        "framing_by_other_sites_is_refused",
        "Content-Security-Policy frame-ancestors allows https://evil.example; expected*",
    ),
    "/xfo-allow-from": (
        {"Content_Security_Policy": "", "X_Frame_Options": "ALLOW-FROM https://admin.example.com"},
        "framing_by_other_sites_is_refused",
        'X-Frame-Options is "ALLOW-FROM https://admin.example.com"; expected DENY or SAMEORIGIN*',
    ),
    "/xfo-garbage": (
        {"Content_Security_Policy": "", "X_Frame_Options": "yes please"},
        "framing_by_other_sites_is_refused",
        'X-Frame-Options is "yes please"; expected DENY or SAMEORIGIN*',
    ),
    "/no-framing-headers": (
        {"Content_Security_Policy": "default-src 'self'"},
        "framing_by_other_sites_is_refused",
        "neither Content-Security-Policy frame-ancestors nor X-Frame-Options is set; expected*",
    ),
}
GOOD_ODDITIES = {  # values that look wrong at a glance but hold in a browser
    "/csp-wins-over-xfo": page(
        Content_Security_Policy="frame-ancestors 'none'",
        X_Frame_Options="ALLOW-FROM https://x.example",
    ),
    "/one-strict-policy-of-two": page(
        Content_Security_Policy="frame-ancestors *, frame-ancestors 'self'"
    ),
    "/quoted-max-age": page(Strict_Transport_Security='max-age="63072000"; includeSubDomains'),
}


def test_nginx_header_values_that_leave_browsers_unprotected_fail_and_say_why(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    nginx: Callable[..., Nginx],  # noqa: F811
) -> None:
    pages = {path: page(**headers) for path, (headers, _, _) in BAD_PAGES.items()}
    server = nginx({"/health": page(), **pages, **GOOD_ODDITIES})
    paths = ["/health", *BAD_PAGES, *GOOD_ODDITIES]
    extra = 'hsts_include_subdomains = true\nframe_ancestors = ["https://admin.example.com"]\n'
    result, path = run_security(
        pytester, manifest(server.url, paths, extra), f"--staging-ca-bundle={server.ca_pem}"
    )
    report = read_report(path)

    assert result.ret == 1
    assert report["verdict"] == "NO-GO"
    assert outcomes(report, "failed") == {
        f"test_headers.py::test_{check}[{path}]" for path, (_, check, _) in BAD_PAGES.items()
    }
    result.stdout.fnmatch_lines_random(
        [f"E * GET {path}: {message}" for path, (_, _, message) in BAD_PAGES.items()]
    )


def response_headers(**headers: str) -> str:
    """An httpbin path that answers with these headers."""
    query = "&".join(f"{name.replace('_', '-')}={quote(value)}" for name, value in headers.items())
    return f"/response-headers?{query}"


def test_httpbin_behind_nginx_sending_hsts_max_age_zero_is_no_go(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    nginx: Callable[..., Nginx],  # noqa: F811
    httpbin: str,  # noqa: F811
) -> None:
    """The app asks browsers to forget HSTS; nginx terminates TLS and passes it on."""
    server = nginx({}, proxy_to=httpbin)
    forget = response_headers(
        Strict_Transport_Security="max-age=0",
        X_Content_Type_Options="nosniff",
        X_Frame_Options="DENY",
    )
    result, path = run_security(
        pytester, manifest(server.url, [forget]), f"--staging-ca-bundle={server.ca_pem}"
    )
    report = read_report(path)

    assert result.ret == 1
    assert outcomes(report, "failed") == {
        f"test_headers.py::test_strict_transport_security_is_set[{forget}]"
    }
    result.stdout.fnmatch_lines(
        ['E * Strict-Transport-Security is "max-age=0"; expected max-age=31536000 or more*']
    )


def test_httpbin_allowing_any_site_to_frame_it_is_no_go(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    httpbin: str,  # noqa: F811
) -> None:
    any_site = response_headers(
        Content_Security_Policy="frame-ancestors *", X_Content_Type_Options="nosniff"
    )
    allow_from = response_headers(
        X_Frame_Options="ALLOW-FROM https://evil.example", X_Content_Type_Options="nosniff"
    )
    result, path = run_security(pytester, manifest(httpbin, [any_site, allow_from]))
    report = read_report(path)

    assert result.ret == 1
    assert outcomes(report, "failed") == {
        f"test_headers.py::test_framing_by_other_sites_is_refused[{any_site}]",
        f"test_headers.py::test_framing_by_other_sites_is_refused[{allow_from}]",
    }
    result.stdout.fnmatch_lines_random(
        [
            "E * Content-Security-Policy frame-ancestors allows *; expected*",
            'E * X-Frame-Options is "ALLOW-FROM https://evil.example"; expected DENY or SAMEORIGIN*',
        ]
    )


GUARDED = response_headers(X_Content_Type_Options="nosniff", X_Frame_Options="DENY")
"""An httpbin page whose headers hold over plain HTTP: only the HTTPS checks remain."""
HTTPS_CHECKS = {
    f"test_headers.py::test_strict_transport_security_is_set[{GUARDED}]",
    "test_transport.py::test_plain_http_is_redirected_to_https",
    "test_transport.py::test_tls_certificate_is_valid_and_not_expiring",
}


@pytest.mark.parametrize(
    ("declared", "why"),
    [
        ('[security]\nhttps = "required"', '[[]security[]] https = "required"'),
        (
            "[environments.staging]\nsensitive = true",
            "[[]security[]] https is \"required\" by default on the sensitive environment 'staging'",
        ),
    ],
    ids=["required", "sensitive by default"],
)
def test_a_plain_http_target_fails_the_https_checks_when_https_is_required(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    httpbin: str,  # noqa: F811
    declared: str,
    why: str,
) -> None:
    table, line = declared.split("\n")
    text = manifest(httpbin, [GUARDED], http_port=80).replace(f"{table}\n", f"{table}\n{line}\n")
    result, path = run_security(pytester, text, files=(HEADERS, TRANSPORT))
    report = read_report(path)

    assert result.ret == 1
    assert report["verdict"] == "NO-GO"
    assert outcomes(report, "failed") == HTTPS_CHECKS
    assert report["categories"]["security"]["skipped"] == 0
    result.stdout.fnmatch_lines(
        [
            f"*{httpbin} is plain HTTP and {why}: serve the service over https://, "
            'or set [[]security[]] https = "optional"'
        ]
    )


@pytest.mark.parametrize(
    ("extra", "options"),
    [('https = "optional"\n', ("-n", "2")), ("", ()), ("", ("-n", "2"))],
    ids=["optional, under xdist", "by default", "by default, under xdist"],
)
def test_a_plain_http_target_skips_the_https_checks_with_one_reason_when_optional(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    httpbin: str,  # noqa: F811
    extra: str,
    options: tuple[str, ...],
) -> None:
    text = manifest(httpbin, [GUARDED], extra, http_port=80)
    result, path = run_security(
        pytester, text, *options, files=(HEADERS, TRANSPORT), subprocess=bool(options)
    )
    report = read_report(path)

    assert outcomes(report, "skipped") == HTTPS_CHECKS
    assert report["verdict"] == "GO"
    reason = HTTPS_OPTIONAL if extra else HTTPS_NOT_SENSITIVE
    result.stdout.fnmatch_lines([f"SKIPPED [[]3[]] *: {reason}"])


IGNORED_HSTS = {  # path: (the value, why browsers ignore it, as the message says)
    "/unclosed-quote": ('max-age="31536000', "a quoted string is not closed"),
    "/max-age-in-a-quoted-string": ('foo="; max-age=31536000"', "no max-age"),
    "/include-subdomains-with-a-value": (
        "max-age=31536000; includeSubDomains=no",
        "includeSubDomains takes no value",
    ),
    "/arabic-indic-digits": (
        "max-age=٣١٥٣٦٠٠٠",
        "max-age is not a number of seconds (ASCII digits)",
    ),
    "/superscript-digit": ("max-age=31536000¹", "max-age is not a number of seconds*"),
    "/4301-digits": (f"max-age={'9' * 4301}", "max-age has more than 18 digits"),
}


def test_hsts_values_browsers_ignore_fail_in_one_line_without_a_traceback(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    nginx: Callable[..., Nginx],  # noqa: F811
) -> None:
    """RFC 6797 6.1's grammar: a header that does not follow it is ignored, so it cannot
    pass; `int()` never sees a value that would raise. Of two headers only the first counts."""
    pages = {
        path: page(Strict_Transport_Security=value) for path, (value, _) in IGNORED_HSTS.items()
    }
    pages["/zero-then-a-year"] = Page(
        "{}", "application/json", {**SOUND, "Strict-Transport-Security": ("max-age=0", YEAR)}
    )
    pages["/a-year-then-zero"] = Page(
        "{}", "application/json", {**SOUND, "Strict-Transport-Security": (YEAR, "max-age=0")}
    )
    server = nginx({"/health": page(), **pages})
    text = manifest(server.url, ["/health", *pages], f"hsts_include_subdomains = true\n{LISTED}")
    result, path = run_security(pytester, text, f"--staging-ca-bundle={server.ca_pem}")
    report = read_report(path)

    hsts = "test_headers.py::test_strict_transport_security_is_set"
    assert outcomes(report, "failed") == {
        f"{hsts}[{path}]" for path in [*IGNORED_HSTS, "/zero-then-a-year"]
    }
    assert report["categories"]["security"]["errors"] == 0
    result.stdout.fnmatch_lines_random(
        [
            f'E * GET {path}: Strict-Transport-Security is "*", which is malformed ({why}), '
            "so browsers ignore it; expected max-age=31536000 or more*"
            for path, (_, why) in IGNORED_HSTS.items()
        ]
        + [
            'E * GET /zero-then-a-year: Strict-Transport-Security is "max-age=0"; expected '
            "max-age=31536000 or more ([[]security[]] hsts_min_age) (2 Strict-Transport-Security "
            "headers: browsers obey only the first)"
        ]
    )
    assert "ValueError" not in result.stdout.str()


def test_nosniff_sent_twice_passes_as_browsers_read_its_first_value(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    nginx: Callable[..., Nginx],  # noqa: F811
) -> None:
    """nginx's add_header and the app's own header arrive together, joined by httpx as
    "nosniff, nosniff"; Fetch's "determine nosniff" reads the first value only."""
    twice = Page("{}", "application/json", {**SOUND, "X-Content-Type-Options": ("nosniff",) * 2})
    pages = {
        "/twice": twice,
        "/upper-case-then-more": page(X_Content_Type_Options=" NOSNIFF , foo"),
        "/nosniff-second": page(X_Content_Type_Options="foo, nosniff"),
        "/sniff": page(X_Content_Type_Options="sniff"),
        "/missing": page(X_Content_Type_Options=""),
    }
    server = nginx({"/health": page(), **pages})
    result, path = run_security(
        pytester,
        manifest(server.url, ["/health", *pages], LISTED),
        f"--staging-ca-bundle={server.ca_pem}",
    )
    report = read_report(path)

    nosniff = "test_headers.py::test_content_type_sniffing_is_off"
    assert outcomes(report, "failed") == {
        f"{nosniff}[/nosniff-second]",
        f"{nosniff}[/sniff]",
        f"{nosniff}[/missing]",
    }
    result.stdout.fnmatch_lines_random(
        [
            'GET /nosniff-second: X-Content-Type-Options is "foo, nosniff"; expected nosniff '
            "(browsers read its first value only)",
            'GET /sniff: X-Content-Type-Options is "sniff"; expected nosniff*',
            "GET /missing: X-Content-Type-Options is missing; expected nosniff*",
        ]
    )


def test_the_https_skip_without_a_security_table_says_what_decided_it(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    httpbin: str,  # noqa: F811
) -> None:
    """Nobody wrote `https = "optional"`: the reason says the key is unset, the environment
    is not sensitive, and which keys would require HTTPS; one reason for both checks."""
    text = f'[environments.staging]\nurl = "{httpbin}"\n\n[health]\npath = "/status/200"\n'
    result, path = run_security(pytester, text, files=(TRANSPORT,))
    report = read_report(path)

    assert report["categories"]["security"]["skipped"] == 2
    result.stdout.fnmatch_lines([f"note: security: 2 skipped: {HTTPS_NOT_SENSITIVE}"])
    result.stdout.fnmatch_lines([f"SKIPPED [[]2[]] *: {HTTPS_NOT_SENSITIVE}"])


def test_x_frame_options_is_read_as_browsers_read_it(
    pytester: pytest.Pytester,
    read_report: Callable[[Path], Report],
    nginx: Callable[..., Nginx],  # noqa: F811
) -> None:
    """HTML's X-Frame-Options check: a keyword beside another value refuses all framing (a
    trailing comma, DENY with ALLOWALL, two headers); keywords compare in ASCII only, so a
    long s (U+017F) does not make SAMEORIGIN; ALLOWALL alone lets any site in."""

    def framing(*values: str) -> Page:
        headers = {**SOUND, "Content-Security-Policy": "", "X-Frame-Options": values}
        return Page("{}", "application/json", {k: v for k, v in headers.items() if v})

    refused = {
        "/trailing-comma": framing("DENY,"),
        "/deny-and-allowall": framing("deny, allowall"),
        "/two-headers": framing("SAMEORIGIN", "DENY"),
    }
    allowed = {"/long-s": framing("\u017fameorigin"), "/allowall": framing("ALLOWALL")}
    server = nginx({"/health": page(), **refused, **allowed})
    paths = ["/health", *refused, *allowed]
    result, path = run_security(
        pytester, manifest(server.url, paths, LISTED), f"--staging-ca-bundle={server.ca_pem}"
    )
    report = read_report(path)

    framed = "test_headers.py::test_framing_by_other_sites_is_refused"
    assert outcomes(report, "failed") == {f"{framed}[{path}]" for path in allowed}
    result.stdout.fnmatch_lines_random(
        [
            'E * GET /long-s: X-Frame-Options is "\u017fameorigin"; expected DENY or SAMEORIGIN*',
            'E * GET /allowall: X-Frame-Options is "ALLOWALL"; expected DENY or SAMEORIGIN*',
        ]
    )


@pytest.mark.parametrize(
    ("answer", "failure"),
    [
        (Page("HTTPS://127.0.0.1/health", status=301), None),
        (
            Page(
                "https://127.0.0.1/health",
                headers={"Location": "https://other.example/health"},
                status=301,
            ),
            'GET http://127.0.0.1:*/health answered 301 with Location "https://127.0.0.1/health", '
            '"https://other.example/health" (2 Location headers); expected a redirect to https://',
        ),
    ],
    ids=["an upper-case scheme", "two Location headers"],
)
def test_the_redirect_to_https_is_judged_as_a_browser_follows_it(
    pytester: pytest.Pytester,
    nginx: Callable[..., Nginx],  # noqa: F811
    answer: Page,
    failure: str | None,
) -> None:
    """The scheme is case-insensitive; a redirect with two Locations is refused by browsers,
    so it cannot pass by its joined value starting with https://."""
    server = nginx({"/health": page(), "http:/health": answer})
    text = manifest(server.url, ["/health"], http_port=server.http_port)
    result, _ = run_security(
        pytester, text, f"--staging-ca-bundle={server.ca_pem}", files=(TRANSPORT,)
    )

    if failure is None:
        assert result.ret == 0, result.stdout.str()
        return
    assert result.ret == 1
    result.stdout.fnmatch_lines([failure])
