"""The response assertions, fed with real responses of the demo service on loopback.

Only the cut of a 5000-character body uses a hand-built response: every other message is
checked against what the demo really answers, so the messages are the ones a user would see.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pytest_staging import schemas
from pytest_staging.assertions import assert_envelope, assert_health, assert_status, json_body
from pytest_staging.demo.modes import DEMO_PASSWORD, DEMO_USERNAME
from pytest_staging.redaction import Secret, redactor, response_excerpt

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ITEM_1 = {"id": 1, "name": "Demo item 01", "price": 3.49, "created_at": "2024-01-02T00:00:00+00:00"}
ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "price", "created_at"],
    "properties": {"id": {"type": "integer"}, "price": {"type": "number", "minimum": 0}},
}


@pytest.fixture
def healthy(demo_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=demo_url) as client:
        yield client


@pytest.fixture
def demo_client(demo_servers: Callable[..., str]) -> Iterator[Callable[[str], httpx.Client]]:
    """Clients for demo servers in other modes, all closed after the test."""
    clients: list[httpx.Client] = []

    def make(mode: str) -> httpx.Client:
        clients.append(httpx.Client(base_url=demo_servers(mode)))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def clean_redactor() -> Iterator[None]:
    """The redactor is process-wide: what a test registers must not mask other tests' output."""
    yield
    redactor.clear()


def failure(check: Callable[..., object], *args: Any, **kwargs: Any) -> str:
    with pytest.raises(AssertionError) as raised:
        check(*args, **kwargs)
    return str(raised.value)


def test_assert_status_passes_on_the_expected_status_or_one_of_several(
    healthy: httpx.Client,
) -> None:
    response = healthy.get("/api/items/1")
    assert assert_status(response, 200) is None
    assert assert_status(response, (201, 200)) is None
    assert assert_status(response, range(200, 300)) is None


def test_assert_status_names_the_request_the_expectation_and_what_came(
    healthy: httpx.Client,
) -> None:
    response = healthy.get("/api/items/999")
    message = failure(assert_status, response, 200)
    headline, body = message.split("\n")
    assert headline == "GET /api/items/999: expected status 200, got 404"
    assert body == f"body: {response.text}"
    assert '"message":"item 999 does not exist"' in body


def test_assert_status_lists_every_allowed_status_in_order(healthy: httpx.Client) -> None:
    response = healthy.get("/api/items/999")
    message = failure(assert_status, response, [204, 200, 201])
    assert message.startswith("GET /api/items/999: expected status 200 or 201 or 204, got 404\n")


def test_the_request_is_named_by_its_path_without_the_query_string(
    healthy: httpx.Client,
) -> None:
    response = healthy.get("/api/items", params={"page": "abc", "token": "not-for-messages"})
    message = failure(assert_status, response, 200)
    assert message.startswith("GET /api/items: expected status 200, got 422\n")
    assert "not-for-messages" not in message


def test_a_big_real_body_is_cut_to_500_characters(healthy: httpx.Client) -> None:
    response = healthy.get("/api/items", params={"per_page": 100})
    assert len(response.text) > 2000
    body = failure(assert_status, response, 204).split("\nbody: ", 1)[1]
    assert body == f"{response.text[:500]}… ({len(response.text) - 500} more characters)"


def test_a_5000_character_body_keeps_exactly_its_first_500() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/big")
    response = httpx.Response(200, text="x" * 5000, request=request)
    message = failure(assert_status, response, 404)
    assert message == (
        "GET /big: expected status 404, got 200\nbody: " + "x" * 500 + "… (4500 more characters)"
    )


def test_a_huge_body_is_cut_from_its_first_bytes_and_says_its_size() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/huge")
    response = httpx.Response(200, content=b"y" * 3_000_000, request=request)
    message = failure(assert_status, response, 404)
    assert message.endswith("\nbody: " + "y" * 500 + "… (3000000 bytes in all)")


def test_a_body_nobody_read_is_said_so() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/stream")
    response = httpx.Response(200, stream=httpx.ByteStream(b"unread"), request=request)
    assert response_excerpt(response) == "(body not read)"


@pytest.mark.usefixtures("clean_redactor")
def test_registered_secrets_are_masked_in_the_body_excerpt(healthy: httpx.Client) -> None:
    """The login answer carries the session token: a failing check must not print it."""
    response = healthy.post(
        "/api/auth/login", json={"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    )
    token = response.json()["data"]["token"]
    redactor.register([Secret(token)])
    message = failure(assert_status, response, 201)
    assert token not in message
    assert '"data":{"token":"***","token_type":"bearer"' in message
    assert message.startswith("POST /api/auth/login: expected status 201, got 200\n")


def test_json_body_returns_the_parsed_document(healthy: httpx.Client) -> None:
    assert json_body(healthy.get("/api/items/1"))["data"] == ITEM_1


def test_json_body_of_a_text_answer_names_its_content_type(healthy: httpx.Client) -> None:
    message = failure(json_body, healthy.get("/no-such-page"))
    assert message == (
        "GET /no-such-page: expected a JSON body, got text/plain; charset=utf-8\nbody: Not Found"
    )


def test_json_body_of_an_empty_answer_says_the_body_is_empty(healthy: httpx.Client) -> None:
    """Logout answers 204 with no body and no content type."""
    login = healthy.post(
        "/api/auth/login", json={"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    )
    token = login.json()["data"]["token"]
    response = healthy.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 204
    message = failure(json_body, response)
    assert message == (
        "POST /api/auth/logout: expected a JSON body, got no content-type\nbody: (empty body)"
    )


def test_json_body_of_bytes_that_are_not_json() -> None:
    request = httpx.Request("GET", "http://127.0.0.1/binary")
    response = httpx.Response(
        200, content=b"\x89PNG", headers={"content-type": "image/png"}, request=request
    )
    message = failure(json_body, response)
    assert message.startswith("GET /binary: expected a JSON body, got image/png\nbody: ")


def test_assert_envelope_returns_data_of_a_success_envelope(healthy: httpx.Client) -> None:
    assert assert_envelope(healthy.get("/api/items/1")) == ITEM_1
    assert assert_envelope(healthy.get("/api/items/1"), ITEM_SCHEMA) == ITEM_1


def test_an_error_envelope_is_a_valid_envelope_with_null_data(healthy: httpx.Client) -> None:
    assert assert_envelope(healthy.get("/api/items/999")) is None


def test_a_broken_envelope_is_reported_at_the_document_root(
    demo_client: Callable[[str], httpx.Client],
) -> None:
    response = demo_client("broken-envelope").get("/api/items/1")
    assert response.status_code == 200
    message = failure(assert_envelope, response)
    assert message.startswith(
        "GET /api/items/1: envelope does not match at /: 'success' is a required property\n"
    )
    assert '"result":{"id":1' in message


def test_a_data_schema_mismatch_reports_the_pointer_under_data(healthy: httpx.Client) -> None:
    """Only the first item (price 3.49) breaks the minimum, so the pointer is unambiguous."""
    schema = {"type": "array", "items": {"properties": {"price": {"minimum": 5}}}}
    response = healthy.get("/api/items", params={"per_page": 3})
    message = failure(assert_envelope, response, schema)
    assert message.startswith(
        "GET /api/items: envelope data does not match at /data/0/price: "
        "3.49 is less than the minimum of 5\n"
    )


def test_data_that_is_wrong_as_a_whole_is_reported_at_data(healthy: httpx.Client) -> None:
    message = failure(assert_envelope, healthy.get("/api/items/1"), {"type": "array"})
    assert message.startswith("GET /api/items/1: envelope data does not match at /data: ")
    assert "is not of type 'array'" in message.split("\n")[0]


def test_the_validator_is_compiled_once_per_schema_object(healthy: httpx.Client) -> None:
    schema = {"type": "object", "required": ["id"]}
    first = schemas.validator(schema, formats=True)
    assert schemas.validator(schema, formats=True) is first
    assert schemas.validator(dict(schema), formats=True) is not first
    assert_envelope(healthy.get("/api/items/1"), schema)
    assert schemas.validator(schema, formats=True) is first


def test_assert_health_returns_the_document_of_a_healthy_service(healthy: httpx.Client) -> None:
    document = assert_health(healthy.get("/health"))
    assert document["version"] == "1.0.0"
    assert document["components"] == {"database": "healthy", "cache": "healthy", "queue": "healthy"}


def test_assert_health_names_every_unhealthy_pointer(
    demo_client: Callable[[str], httpx.Client],
) -> None:
    response = demo_client("degraded").get("/health")
    assert response.status_code == 503
    headline = failure(assert_health, response).split("\n")[0]
    assert headline == (
        "GET /health: not healthy: /status is 'degraded', "
        "/components/database is 'unhealthy' (expected 'healthy')"
    )


def test_assert_health_without_components_judges_the_status_only(
    demo_client: Callable[[str], httpx.Client],
) -> None:
    response = demo_client("degraded").get("/health")
    headline = failure(assert_health, response, components=None).split("\n")[0]
    assert headline == "GET /health: not healthy: /status is 'degraded' (expected 'healthy')"


def test_assert_health_reports_a_missing_status_field(healthy: httpx.Client) -> None:
    headline = failure(assert_health, healthy.get("/health"), status_field="/state").split("\n")[0]
    assert headline == "GET /health: expected a value at /state: nothing at /state"


def test_assert_health_rejects_a_document_that_is_no_health_document(
    healthy: httpx.Client,
) -> None:
    headline = failure(assert_health, healthy.get("/api/items/1")).split("\n")[0]
    assert headline == (
        "GET /api/items/1: health document does not match at /: 'status' is a required property"
    )


INNER_TEST = """
import httpx

from pytest_staging.assertions import assert_status


def test_missing_item():
    with httpx.Client() as client:
        response = client.get("{url}/api/items/999")
    assert_status(response, 200)
"""


def test_a_failure_points_at_the_test_line_not_at_the_helper(
    pytester: pytest.Pytester, demo_url: str
) -> None:
    source = INNER_TEST.format(url=demo_url).strip()
    line = source.splitlines().index("    assert_status(response, 200)") + 1
    pytester.makepyfile(test_inner=source)
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            ">       assert_status(response, 200)",
            "E       AssertionError: GET /api/items/999: expected status 200, got 404",
            "E       body: {*item 999 does not exist*",
            f"test_inner.py:{line}: AssertionError",
        ]
    )
    output = result.stdout.str()
    assert "assertions.py" not in output
    assert "raise _fail(" not in output
