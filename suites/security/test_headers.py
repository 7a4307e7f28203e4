"""Security: responses carry the headers that keep browsers safe (HSTS on HTTPS,
no MIME sniffing, no framing by other sites)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from pytest_staging import StagingTarget

pytestmark = pytest.mark.security


@pytest.fixture
def answer(staging_client: httpx.Client, security_path: str) -> httpx.Response:
    return staging_client.get(security_path)


def test_strict_transport_security_is_set(
    answer: httpx.Response, staging_target: StagingTarget, security_path: str
) -> None:
    if urlsplit(staging_target.url).scheme != "https":
        pytest.skip("HSTS only means something over HTTPS; the target is plain HTTP")
    value = answer.headers.get("strict-transport-security", "")
    assert "max-age=" in value.lower(), (
        f"GET {security_path}: Strict-Transport-Security is {value or 'missing'}"
    )


def test_content_type_sniffing_is_off(answer: httpx.Response, security_path: str) -> None:
    value = answer.headers.get("x-content-type-options", "")
    assert value.lower() == "nosniff", (
        f"GET {security_path}: X-Content-Type-Options is {value or 'missing'}, expected nosniff"
    )


def test_framing_by_other_sites_is_refused(answer: httpx.Response, security_path: str) -> None:
    frame_options = answer.headers.get("x-frame-options", "").upper()
    policy = answer.headers.get("content-security-policy", "").lower()
    assert frame_options in {"DENY", "SAMEORIGIN"} or "frame-ancestors" in policy, (
        f"GET {security_path}: neither X-Frame-Options DENY/SAMEORIGIN nor a "
        "Content-Security-Policy frame-ancestors directive"
    )
