"""The loopback test servers themselves, over real HTTP: other tests trust what they serve."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx
import pytest
from servers import BUILD, HSTS, SEED_THING_COUNT, TlsOptions, serve_plain_api

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from servers import PlainApi

USER = ("alice", "s3cret")
SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "SAMEORIGIN"}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with (
        serve_plain_api(username=USER[0], password=USER[1]) as api,
        httpx.Client(base_url=api.url) as client,
    ):
        yield client


@pytest.fixture
def tls_api(tmp_path: Path) -> Iterator[PlainApi]:
    with serve_plain_api(username=USER[0], password=USER[1], tls=TlsOptions(tmp_path)) as api:
        yield api


def _trusting(api: PlainApi) -> ssl.SSLContext:
    assert api.ca_pem is not None
    return ssl.create_default_context(cafile=api.ca_pem)


def test_health_is_up_with_build_and_checks(client: httpx.Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {
        "state": "up",
        "build": BUILD,
        "checks": {"db": "up", "search": "up"},
    }


def test_failing_health_answers_503_down() -> None:
    with (
        serve_plain_api(username=USER[0], password=USER[1], fail_health=True) as api,
        httpx.Client(base_url=api.url) as client,
    ):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["state"] == "down"


def test_things_are_paged_with_count_page_and_size(client: httpx.Client) -> None:
    body = client.get("/v1/things", params={"page": 2, "size": 5}).json()

    assert [thing["id"] for thing in body["items"]] == [6, 7, 8, 9, 10]
    assert (body["count"], body["page"], body["size"]) == (SEED_THING_COUNT, 2, 5)


@pytest.mark.parametrize("params", [{"page": "0"}, {"size": "x"}, {"page": ""}, {"size": "-1"}])
def test_bad_paging_is_a_json_400(client: httpx.Client, params: dict[str, str]) -> None:
    response = client.get("/v1/things", params=params)

    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic YWxpY2U6d3Jvbmc="}, {"Authorization": "Bearer x"}]
)
def test_writes_without_valid_basic_auth_are_401(
    client: httpx.Client, headers: dict[str, str]
) -> None:
    response = client.post("/v1/things", json={"title": "new"}, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")


def test_an_authenticated_client_creates_reads_and_deletes_a_thing(client: httpx.Client) -> None:
    created = client.post("/v1/things", json={"title": "new"}, auth=USER)
    path = f"/v1/things/{created.json()['id']}"

    assert created.status_code == 201
    assert client.get(path).json() == created.json() == {"id": 13, "title": "new"}
    assert client.delete(path, auth=USER).status_code == 204
    assert client.get(path).status_code == 404


def test_an_invalid_body_is_a_400(client: httpx.Client) -> None:
    assert client.post("/v1/things", json={"name": "x"}, auth=USER).status_code == 400


def test_me_names_the_authenticated_user(client: httpx.Client) -> None:
    assert client.get("/v1/me", auth=USER).json() == {"user": USER[0]}
    assert client.get("/v1/me").status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("GET", "/v1/things/99", 404), ("PUT", "/v1/things/1", 405)],
)
def test_errors_are_json_with_security_headers_and_no_version_banner(
    client: httpx.Client, method: str, path: str, status: int
) -> None:
    response = client.request(method, path)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert "detail" in response.json()
    assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
    assert response.headers["server"] == "plain-api"
    assert "strict-transport-security" not in response.headers


def test_tls_is_trusted_through_the_ca_pem_and_sends_hsts(tls_api: PlainApi) -> None:
    with httpx.Client(base_url=tls_api.url, verify=_trusting(tls_api)) as client:
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.headers["strict-transport-security"] == HSTS


def test_the_certificate_expires_at_not_after(tmp_path: Path) -> None:
    not_after = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    options = TlsOptions(tmp_path, not_after=not_after)
    with (
        serve_plain_api(username=USER[0], password=USER[1], tls=options) as api,
        socket.create_connection(("127.0.0.1", int(api.url.rsplit(":", 1)[1]))) as raw,
        _trusting(api).wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        certificate = tls.getpeercert()

    assert certificate is not None
    expiry = ssl.cert_time_to_seconds(str(certificate["notAfter"]))
    assert datetime.fromtimestamp(expiry, UTC) == not_after


def test_the_http_listener_redirects_to_the_https_url(tls_api: PlainApi) -> None:
    with httpx.Client(verify=_trusting(tls_api)) as client:
        moved = client.get(f"http://127.0.0.1:{tls_api.http_port}/v1/things?page=2")
        followed = client.get(moved.headers["location"])

    assert moved.status_code == 301
    assert moved.headers["location"] == f"{tls_api.url}/v1/things?page=2"
    assert followed.json()["page"] == 2
