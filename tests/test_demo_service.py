"""The demo service and its launcher, checked against real uvicorn children on 127.0.0.1.

One server per fault mode at most: the read-mostly modes share module-scoped servers, and the
modes that need a fresh request counter or a full lifecycle start their own inside the test.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.routing import Route

import pytest_staging.demo
from pytest_staging.demo.app import create_app
from pytest_staging.demo.modes import DEMO_PASSWORD, DEMO_USERNAME, DemoOptions
from pytest_staging.demo.server import DemoServer, DemoStartError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from starlette.requests import Request
    from starlette.responses import Response

SECURITY_HEADERS = {
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'",
}
CREDENTIALS = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
HEX32 = re.compile(r"[0-9a-f]{32}")


def _client(mode: str) -> Iterator[httpx.Client]:
    with DemoServer(DemoOptions(mode)) as server, httpx.Client(base_url=server.url) as client:
        yield client


@pytest.fixture(scope="module")
def healthy() -> Iterator[httpx.Client]:
    yield from _client("healthy")


@pytest.fixture(scope="module")
def degraded() -> Iterator[httpx.Client]:
    yield from _client("degraded")


@pytest.fixture(scope="module")
def broken() -> Iterator[httpx.Client]:
    yield from _client("broken-envelope")


@pytest.fixture(scope="module")
def auth(healthy: httpx.Client) -> dict[str, str]:
    response = healthy.post("/api/auth/login", json=CREDENTIALS)
    return {"Authorization": f"Bearer {response.json()['data']['token']}"}


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    body = response.json()
    assert response.status_code == status
    assert body["success"] is False
    assert body["data"] is None
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["meta"]["request_id"] == response.headers["x-request-id"]


def metric(client: httpx.Client, name: str, **labels: str) -> float:
    """The value of one sample on /metrics, 0 when the labelled series does not exist yet."""
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_health_reports_version_and_healthy_components(healthy: httpx.Client) -> None:
    response = healthy.get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "version": "1.0.0",
        "components": {"database": "healthy", "cache": "healthy", "queue": "healthy"},
    }


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", "/metrics", 200),
        ("GET", "/api/items", 200),
        ("GET", "/api/items/99999", 404),
        ("GET", "/api/auth/me", 401),
        ("GET", "/api/no-such-thing", 404),
        ("GET", "/no-such-page", 404),
    ],
)
def test_every_response_carries_security_headers(
    healthy: httpx.Client, method: str, path: str, status: int
) -> None:
    response = healthy.request(method, path)

    assert response.status_code == status
    assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS
    assert HEX32.fullmatch(response.headers["x-request-id"])
    assert "server" not in response.headers


def test_envelope_meta_matches_request_id_and_is_utc(healthy: httpx.Client) -> None:
    response = healthy.get("/api/items/1")
    body = response.json()

    assert set(body) == {"success", "data", "error", "meta"}
    assert body["success"] is True
    assert body["error"] is None
    assert body["meta"]["request_id"] == response.headers["x-request-id"]
    assert datetime.fromisoformat(body["meta"]["timestamp"]).utcoffset() == timedelta(0)


def test_list_items_returns_a_page_with_pagination(healthy: httpx.Client) -> None:
    body = healthy.get("/api/items", params={"page": 2, "per_page": 10}).json()
    pagination = body["meta"]["pagination"]

    assert pagination["page"] == 2
    assert pagination["per_page"] == 10
    assert pagination["total"] >= 20
    assert pagination["pages"] == -(-pagination["total"] // 10)
    assert [item["id"] for item in body["data"]] == list(range(11, 21))
    item = body["data"][0]
    assert set(item) == {"id", "name", "price", "created_at"}
    assert isinstance(item["name"], str)
    assert isinstance(item["price"], float)
    datetime.fromisoformat(item["created_at"])


@pytest.mark.parametrize(
    "params",
    [{"per_page": "0"}, {"per_page": "101"}, {"per_page": "ten"}, {"page": "0"}, {"page": "x"}],
)
def test_list_items_rejects_bad_paging(healthy: httpx.Client, params: dict[str, str]) -> None:
    assert_error(healthy.get("/api/items", params=params), 422, "validation_error")


def test_get_item_returns_the_item(healthy: httpx.Client) -> None:
    response = healthy.get("/api/items/3")

    assert response.status_code == 200
    assert response.json()["data"] == {
        "id": 3,
        "name": "Demo item 03",
        "price": 8.49,
        "created_at": "2024-01-04T00:00:00+00:00",
    }


@pytest.mark.parametrize("path", ["/api/items/99999", "/api/items/abc", "/api/nothing/here"])
def test_unknown_resources_are_404_envelopes(healthy: httpx.Client, path: str) -> None:
    assert_error(healthy.get(path), 404, "not_found")


def test_wrong_method_is_a_405_envelope_with_allow(healthy: httpx.Client) -> None:
    response = healthy.put("/api/items/1")

    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "DELETE"}


def test_login_issues_a_bearer_token(healthy: httpx.Client, auth: dict[str, str]) -> None:
    response = healthy.post("/api/auth/login", json=CREDENTIALS)
    data = response.json()["data"]

    assert response.status_code == 200
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == 3600
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", data["token"])
    assert f"Bearer {data['token']}" != auth["Authorization"]


def test_login_with_bad_credentials_is_refused(healthy: httpx.Client) -> None:
    response = healthy.post("/api/auth/login", json={"username": "demo", "password": "guess"})

    assert_error(response, 401, "invalid_credentials")


def test_me_needs_a_valid_token(healthy: httpx.Client, auth: dict[str, str]) -> None:
    me = healthy.get("/api/auth/me", headers=auth)
    anonymous = healthy.get("/api/auth/me")
    forged = healthy.get("/api/auth/me", headers={"Authorization": "Bearer forged"})

    assert me.status_code == 200
    assert me.json()["data"] == {"username": "demo"}
    assert_error(anonymous, 401, "unauthorized")
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert_error(forged, 401, "unauthorized")


def test_logout_invalidates_the_token(healthy: httpx.Client) -> None:
    token = healthy.post("/api/auth/login", json=CREDENTIALS).json()["data"]["token"]
    headers = {"Authorization": f"Bearer {token}"}

    logout = healthy.post("/api/auth/logout", headers=headers)

    assert logout.status_code == 204
    assert logout.content == b""
    assert_error(healthy.get("/api/auth/me", headers=headers), 401, "unauthorized")
    assert_error(healthy.post("/api/auth/logout", headers=headers), 401, "unauthorized")


def test_create_then_delete_an_item(healthy: httpx.Client, auth: dict[str, str]) -> None:
    created = healthy.post("/api/items", json={"name": "Widget", "price": 12}, headers=auth)
    item = created.json()["data"]

    assert created.status_code == 201
    assert item["name"] == "Widget"
    assert item["price"] == 12.0
    assert healthy.get(f"/api/items/{item['id']}").json()["data"] == item

    deleted = healthy.delete(f"/api/items/{item['id']}", headers=auth)

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_error(healthy.get(f"/api/items/{item['id']}"), 404, "not_found")
    assert_error(healthy.delete(f"/api/items/{item['id']}", headers=auth), 404, "not_found")


def test_writes_need_a_token(healthy: httpx.Client) -> None:
    created = healthy.post("/api/items", json={"name": "Widget", "price": 1})
    deleted = healthy.delete("/api/items/1")

    assert_error(created, 401, "unauthorized")
    assert_error(deleted, 401, "unauthorized")
    assert healthy.get("/api/items/1").status_code == 200


@pytest.mark.parametrize(
    "content",
    [
        b'{"price": 1}',
        b'{"name": "", "price": 1}',
        b'{"name": "Widget"}',
        b'{"name": "Widget", "price": -0.5}',
        b'{"name": "Widget", "price": "1"}',
        b'{"name": "Widget", "price": true}',
        b'["Widget", 1]',
        b"{not json",
    ],
)
def test_create_rejects_invalid_bodies(
    healthy: httpx.Client, auth: dict[str, str], content: bytes
) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    response = healthy.post("/api/items", content=content, headers=headers)

    assert_error(response, 422, "validation_error")


def test_cache_starts_warm_and_counts_reads(healthy: httpx.Client, auth: dict[str, str]) -> None:
    before = healthy.get("/api/cache/stats").json()["data"]
    created = healthy.post("/api/items", json={"name": "Fresh", "price": 1}, headers=auth)
    item_id = created.json()["data"]["id"]
    healthy.get(f"/api/items/{item_id}")
    healthy.get(f"/api/items/{item_id}")
    after = healthy.get("/api/cache/stats").json()["data"]
    healthy.delete(f"/api/items/{item_id}", headers=auth)

    assert 0.8 <= before["hit_rate"] <= 0.9
    assert after["misses"] == before["misses"] + 1
    assert after["hits"] == before["hits"] + 1
    assert after["hit_rate"] == round(after["hits"] / (after["hits"] + after["misses"]), 4)


def test_metrics_count_requests_by_route_template(healthy: httpx.Client) -> None:
    labels = {"method": "GET", "path": "/api/items/{item_id}"}
    requests_before = metric(healthy, "demo_http_requests_total", **labels, status="200")
    durations_before = metric(healthy, "demo_http_request_duration_seconds_count", **labels)

    for item_id in (4, 5, 6):
        healthy.get(f"/api/items/{item_id}")

    total = healthy.get("/api/items").json()["meta"]["pagination"]["total"]
    assert (
        metric(healthy, "demo_http_requests_total", **labels, status="200") == requests_before + 3
    )
    assert metric(healthy, "demo_http_request_duration_seconds_count", **labels) == (
        durations_before + 3
    )
    assert metric(healthy, "demo_items") == total
    assert metric(healthy, "process_cpu_seconds_total") > 0
    assert "/api/items/4" not in healthy.get("/metrics").text


def test_unhandled_error_is_a_500_envelope_without_details() -> None:
    """Needs a route that crashes, which only an in-process app can grow."""

    async def explode(request: Request) -> Response:
        raise RuntimeError("secret internals")

    app = create_app(DemoOptions("healthy"))
    app.router.routes.append(Route("/api/explode", explode))

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            return await client.get("/api/explode")

    response = asyncio.run(call())

    assert_error(response, 500, "internal_error")
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-frame-options"] == "DENY"


def test_degraded_health_is_503_with_unhealthy_database(degraded: httpx.Client) -> None:
    response = degraded.get("/health")

    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "version": "1.0.0",
        "components": {"database": "unhealthy", "cache": "healthy", "queue": "healthy"},
    }


def test_degraded_api_still_answers_from_the_seed(degraded: httpx.Client) -> None:
    body = degraded.get("/api/items", params={"page": 3, "per_page": 10}).json()

    assert body["success"] is True
    assert body["meta"]["pagination"] == {"page": 3, "per_page": 10, "total": 25, "pages": 3}
    assert [item["id"] for item in body["data"]] == [21, 22, 23, 24, 25]


def test_degraded_cache_hit_rate_is_low(degraded: httpx.Client) -> None:
    stats = degraded.get("/api/cache/stats").json()["data"]

    assert 0.25 <= stats["hit_rate"] <= 0.35


def test_login_is_rate_limited_per_client_and_username(degraded: httpx.Client) -> None:
    """The only login test on this server, so its 20 attempts do not lock out other tests."""
    wrong = {"username": DEMO_USERNAME, "password": "wrong"}
    statuses = [degraded.post("/api/auth/login", json=wrong).status_code for _ in range(20)]

    limited = degraded.post("/api/auth/login", json=CREDENTIALS)
    other_name = degraded.post("/api/auth/login", json={"username": "probe", "password": "x"})

    assert statuses == [401] * 20
    assert_error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 10
    assert other_name.status_code == 401


def test_broken_envelope_renames_data_and_drops_success(broken: httpx.Client) -> None:
    found = broken.get("/api/items/1")
    missing = broken.get("/api/items/99999")

    assert found.status_code == 200
    assert set(found.json()) == {"result", "error", "meta"}
    assert found.json()["result"]["id"] == 1
    assert missing.status_code == 404
    assert set(missing.json()) == {"result", "error", "meta"}
    assert missing.json()["error"]["code"] == "not_found"


def test_broken_envelope_keeps_health_correct(broken: httpx.Client) -> None:
    response = broken.get("/health")

    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


def test_flaky_mode_fails_every_fifth_api_request() -> None:
    with DemoServer(DemoOptions("flaky")) as server, httpx.Client(base_url=server.url) as client:
        api = []
        for _ in range(10):
            api.append(client.get("/api/items"))
            assert client.get("/health").status_code == 200

    assert [response.status_code for response in api] == [200, 200, 200, 200, 500] * 2
    assert_error(api[4], 500, "internal_error")


def resident_bytes(client: httpx.Client) -> float:
    text = client.get("/metrics").text
    [family] = [
        f for f in text_string_to_metric_families(text) if f.name == "process_resident_memory_bytes"
    ]
    return float(family.samples[0].value)


@pytest.mark.parametrize(("mode", "grows"), [("leaky", True), ("healthy", False)])
def test_leaky_mode_keeps_memory_the_metrics_show_and_healthy_does_not(
    mode: str, grows: bool
) -> None:
    options = DemoOptions(mode, leak_kib=2048)
    with DemoServer(options) as server, httpx.Client(base_url=server.url) as client:
        for _ in range(5):  # warm up: the first requests import and allocate
            client.get("/api/items")
        before = resident_bytes(client)
        for _ in range(20):
            assert client.get("/api/items").status_code == 200
        growth = resident_bytes(client) - before

    if grows:
        assert growth >= 20 * 2048 * 1024 * 0.9  # 20 requests kept 2 MiB each
    else:
        assert growth < 8 * 1024 * 1024


def test_slow_mode_and_the_launcher_lifecycle() -> None:
    server = DemoServer(DemoOptions("slow", version="2.3.4"))
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.url

    url = server.start()
    try:
        pid = server.pid
        port = int(url.rsplit(":", 1)[1])
        assert url == server.url
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        with httpx.Client(base_url=url) as client:
            health = client.get("/health")
            api = client.get("/api/items/1")
    finally:
        server.stop()

    assert health.json()["version"] == "2.3.4"
    assert health.elapsed.total_seconds() < 0.2
    assert api.status_code == 200
    assert api.elapsed.total_seconds() >= 0.2
    assert server.pid is None
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    server.stop()


def test_start_reports_a_child_that_dies() -> None:
    server = DemoServer(DemoOptions("no-such-mode"))

    with pytest.raises(DemoStartError, match="exited with code 2") as excinfo:
        server.start()

    assert "invalid choice: 'no-such-mode'" in str(excinfo.value)
    assert server.pid is None


def test_start_gives_up_after_the_timeout() -> None:
    server = DemoServer(DemoOptions("healthy"))

    with pytest.raises(DemoStartError, match=r"did not answer GET /health within 0\.01 s"):
        server.start(timeout=0.01)

    assert server.pid is None


def test_start_explains_a_missing_demo_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)

    with pytest.raises(DemoStartError, match=re.escape("pip install 'pytest-staging[demo]'")):
        DemoServer(DemoOptions("healthy")).start()


def test_package_and_launcher_import_without_the_web_stack() -> None:
    """The plugin imports these on every pytest start, so they must stay cheap."""
    package_root = Path(pytest_staging.demo.__file__).resolve().parents[2]
    code = (
        "import sys, pytest_staging.demo, pytest_staging.demo.modes, pytest_staging.demo.server\n"
        "heavy = ('starlette', 'uvicorn', 'prometheus_client', 'httpx')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=package_root,
        capture_output=True,
        text=True,
        check=True,
    )

    assert result.stdout.strip() == "[]"
