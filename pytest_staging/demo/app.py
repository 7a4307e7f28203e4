"""The demo staging service: a Starlette JSON API whose faults are switched by ``DemoOptions``.

It behaves like a real staging deployment (envelopes, auth, rate limits, metrics, security
headers) so the staging suites have something honest to check, and each fault mode breaks
exactly one of those promises.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import secrets
import time
import uuid
from collections import defaultdict, deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Match, Route

from pytest_staging.demo.modes import DEMO_MODES, SESSION_COOKIE, demo_account

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from pytest_staging.demo.modes import DemoOptions

    Endpoint = Callable[[Request], Awaitable[Response]]

logger = logging.getLogger(__name__)

SECURITY_HEADERS: dict[str, str] = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'",
}
SEED_ITEM_COUNT = 25
LOGIN_LIMIT = 20
LOGIN_WINDOW_S = 10.0
TOKEN_TTL_S = 3600
MAX_PER_PAGE = 100
UNMATCHED_PATH = "unmatched"

_SEED_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
# (hits, misses) before start-up, so hit_rate starts near 0.85 or, for degraded, near 0.3.
_WARM_CACHE_COUNTERS = (850, 150)
_COLD_CACHE_COUNTERS = (300, 700)


class ApiError(Exception):
    """An expected failure of an ``/api`` call, rendered as an error envelope."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Item:
    """One catalogue entry as the API returns it."""

    id: int
    name: str
    price: float
    created_at: str


class ItemStore:
    """Items behind a read-through cache whose counters feed ``/api/cache/stats``."""

    def __init__(self, *, warm_cache: bool, hits: int, misses: int) -> None:
        self._items: dict[int, Item] = {}
        self._ids = itertools.count(1)
        for number in range(1, SEED_ITEM_COUNT + 1):
            created = (_SEED_EPOCH + timedelta(days=number)).isoformat()
            self._insert(f"Demo item {number:02d}", round(2.5 * number + 0.99, 2), created)
        self._cached: set[int] = set(self._items) if warm_cache else set()
        self.hits = hits
        self.misses = misses

    def __len__(self) -> int:
        return len(self._items)

    def _insert(self, name: str, price: float, created_at: str) -> Item:
        item = Item(id=next(self._ids), name=name, price=price, created_at=created_at)
        self._items[item.id] = item
        return item

    def page(self, page: int, per_page: int) -> list[Item]:
        ordered = sorted(self._items.values(), key=lambda item: item.id)
        start = (page - 1) * per_page
        return ordered[start : start + per_page]

    def get(self, item_id: int) -> Item | None:
        """Look an item up; the first read of an id misses the cache, later reads hit it."""
        if item_id in self._cached:
            self.hits += 1
        else:
            self.misses += 1
        item = self._items.get(item_id)
        if item is not None:
            self._cached.add(item_id)
        return item

    def add(self, name: str, price: float) -> Item:
        return self._insert(name, price, _now_iso())

    def delete(self, item_id: int) -> bool:
        self._cached.discard(item_id)
        return self._items.pop(item_id, None) is not None

    def cache_stats(self) -> dict[str, Any]:
        lookups = self.hits + self.misses
        hit_rate = round(self.hits / lookups, 4) if lookups else 0.0
        return {"hits": self.hits, "misses": self.misses, "hit_rate": hit_rate}


class Sessions:
    """Bearer tokens handed out by login; logout revokes them before they expire."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        self._expiry[token] = time.monotonic() + TOKEN_TTL_S
        return token

    def is_valid(self, token: str) -> bool:
        expiry = self._expiry.get(token)
        return expiry is not None and expiry > time.monotonic()

    def revoke(self, token: str) -> None:
        self._expiry.pop(token, None)


class LoginLimiter:
    """Sliding-window limit on login attempts per client address and username, so a probe
    of the limit with one name never locks out the other logins of the same test run."""

    def __init__(self, limit: int = LOGIN_LIMIT, window_s: float = LOGIN_WINDOW_S) -> None:
        self._limit = limit
        self._window_s = window_s
        self._attempts: defaultdict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, key: str) -> int | None:
        """Record an attempt and return ``None``, or the seconds to wait when over the limit."""
        now = time.monotonic()
        attempts = self._attempts[key]
        while attempts and now - attempts[0] >= self._window_s:
            attempts.popleft()
        if len(attempts) >= self._limit:
            return max(1, math.ceil(self._window_s - (now - attempts[0])))
        attempts.append(now)
        return None


class Metrics:
    """Per-app Prometheus registry, so several apps in one process never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "demo_http_requests_total",
            "HTTP requests served, by route template and status.",
            ["method", "path", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "demo_http_request_duration_seconds",
            "Time spent serving HTTP requests.",
            ["method", "path"],
            registry=self.registry,
        )
        self.items = Gauge("demo_items", "Items currently stored.", registry=self.registry)

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        self.requests.labels(method=method, path=path, status=str(status)).inc()
        self.duration.labels(method=method, path=path).observe(seconds)


class Envelopes:
    """Builds ``/api`` bodies; in broken-envelope mode it drops ``success`` and renames ``data``."""

    def __init__(self, *, broken: bool) -> None:
        self._broken = broken

    def ok(
        self,
        request: Request,
        data: Any,
        status: int = 200,
        extra_meta: Mapping[str, Any] | None = None,
    ) -> JSONResponse:
        body = self._body(request, data=data, error=None, extra_meta=extra_meta)
        return JSONResponse(body, status_code=status)

    def error(self, request: Request, exc: ApiError) -> JSONResponse:
        error = {"code": exc.code, "message": exc.message}
        body = self._body(request, data=None, error=error, extra_meta=None)
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    def _body(
        self,
        request: Request,
        *,
        data: Any,
        error: dict[str, str] | None,
        extra_meta: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        meta = {"request_id": _request_id(request), "timestamp": _now_iso(), **(extra_meta or {})}
        if self._broken:
            return {"result": data, "error": error, "meta": meta}
        return {"success": error is None, "data": data, "error": error, "meta": meta}


def _request_id(request: Request) -> str:
    """The id the middleware gave this request; it is echoed in ``X-Request-ID`` and ``meta``."""
    return str(request.scope["state"]["request_id"])


def _int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, "validation_error", f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(422, "validation_error", f"{name} must be {bounds}")
    return value


def _item_id(request: Request) -> int:
    raw = request.path_params["item_id"]
    try:
        return int(raw)
    except ValueError:
        raise ApiError(404, "not_found", f"item {raw!r} does not exist") from None


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(422, "validation_error", "the body must be valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(422, "validation_error", "the body must be a JSON object")
    return body


def _new_item_fields(body: Mapping[str, Any]) -> tuple[str, float]:
    name, price = body.get("name"), body.get("price")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(422, "validation_error", "name must be a non-empty string")
    if isinstance(price, bool) or not isinstance(price, int | float):
        raise ApiError(422, "validation_error", "price must be a number")
    if not math.isfinite(price) or price < 0:
        raise ApiError(422, "validation_error", "price must be a finite number >= 0")
    return name.strip(), float(price)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _dispatch(handlers: Mapping[str, Endpoint]) -> Endpoint:
    """One route per path keeps the 405 ``Allow`` header and the metrics path label honest."""

    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await handlers[method](request)

    return endpoint


class DemoService:
    """State and endpoints of one app instance."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        cold_cache = options.mode == "degraded"
        hits, misses = _COLD_CACHE_COUNTERS if cold_cache else _WARM_CACHE_COUNTERS
        self.items = ItemStore(warm_cache=not cold_cache, hits=hits, misses=misses)
        self.sessions = Sessions()
        self.account = demo_account()
        self.login_limiter = LoginLimiter()
        self.metrics = Metrics()
        self.metrics.items.set(len(self.items))
        self.leaked: list[bytearray] = []
        self.envelopes = Envelopes(broken=options.mode == "broken-envelope")
        self.routes = self._routes()
        self._api_requests = itertools.count(1)

    def _routes(self) -> list[Route]:
        table: dict[str, dict[str, Endpoint]] = {
            "/health": {"GET": self.health},
            "/metrics": {"GET": self.metrics_text},
            "/api/items": {"GET": self.list_items, "POST": self.create_item},
            "/api/items/{item_id}": {"GET": self.get_item, "DELETE": self.delete_item},
            "/api/auth/login": {"POST": self.login},
            "/api/auth/logout": {"POST": self.logout},
            "/api/auth/me": {"GET": self.me},
            "/api/cache/stats": {"GET": self.cache_stats},
        }
        return [
            Route(path, _dispatch(by_method), methods=list(by_method))
            for path, by_method in table.items()
        ]

    def route_template(self, scope: Scope) -> str:
        """The route path for metrics labels, so ids in URLs do not explode label cardinality."""
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                return route.path
        return UNMATCHED_PATH

    def should_fail(self) -> bool:
        """In flaky mode every ``flaky_every``-th ``/api`` request fails, counted per process."""
        count = next(self._api_requests)
        return self.options.mode == "flaky" and count % self.options.flaky_every == 0

    def _require_token(self, request: Request) -> str:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not self.sessions.is_valid(token):
            raise ApiError(
                401,
                "unauthorized",
                "a valid bearer token is required",
                {"WWW-Authenticate": "Bearer"},
            )
        return token

    async def health(self, request: Request) -> Response:
        degraded = self.options.mode == "degraded"
        body = {
            "status": "degraded" if degraded else "healthy",
            "version": self.options.version,
            "components": {
                "database": "unhealthy" if degraded else "healthy",
                "cache": "healthy",
                "queue": "healthy",
            },
        }
        return JSONResponse(body, status_code=503 if degraded else 200)

    def leak(self) -> None:
        """Keep `leak_kib` more for good, written so the pages count in the resident size."""
        self.leaked.append(bytearray(b"\x01") * (self.options.leak_kib * 1024))

    async def metrics_text(self, request: Request) -> Response:
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def list_items(self, request: Request) -> Response:
        page = _int_param(request, "page", 1, 1, None)
        per_page = _int_param(request, "per_page", 10, 1, MAX_PER_PAGE)
        total = len(self.items)
        pagination = {
            "page": page,
            "per_page": per_page,
            "total": total,
            "pages": math.ceil(total / per_page),
        }
        data = [asdict(item) for item in self.items.page(page, per_page)]
        return self.envelopes.ok(request, data, extra_meta={"pagination": pagination})

    async def get_item(self, request: Request) -> Response:
        item_id = _item_id(request)
        item = self.items.get(item_id)
        if item is None:
            raise ApiError(404, "not_found", f"item {item_id} does not exist")
        return self.envelopes.ok(request, asdict(item))

    async def create_item(self, request: Request) -> Response:
        self._require_token(request)
        name, price = _new_item_fields(await _json_object(request))
        item = self.items.add(name, price)
        self.metrics.items.set(len(self.items))
        return self.envelopes.ok(request, asdict(item), status=201)

    async def delete_item(self, request: Request) -> Response:
        self._require_token(request)
        item_id = _item_id(request)
        if not self.items.delete(item_id):
            raise ApiError(404, "not_found", f"item {item_id} does not exist")
        self.metrics.items.set(len(self.items))
        return Response(status_code=204)

    async def login(self, request: Request) -> Response:
        body = await _json_object(request)
        retry_after = self.login_limiter.retry_after(f"{_client(request)} {body.get('username')}")
        if retry_after is not None:
            raise ApiError(
                429, "rate_limited", "too many login attempts", {"Retry-After": str(retry_after)}
            )
        if (body.get("username"), body.get("password")) != self.account:
            raise ApiError(401, "invalid_credentials", "unknown username or wrong password")
        token = self.sessions.issue()
        data = {"token": token, "token_type": "bearer", "expires_in": TOKEN_TTL_S}
        response = self.envelopes.ok(request, data)
        response.set_cookie(  # plain HTTP on loopback: no Secure flag
            SESSION_COOKIE,
            secrets.token_urlsafe(24),
            max_age=TOKEN_TTL_S,
            httponly=True,
            samesite="strict",
        )
        return response

    async def logout(self, request: Request) -> Response:
        self.sessions.revoke(self._require_token(request))
        return Response(status_code=204)

    async def me(self, request: Request) -> Response:
        self._require_token(request)
        return self.envelopes.ok(request, {"username": self.account[0]})

    async def cache_stats(self, request: Request) -> Response:
        return self.envelopes.ok(request, self.items.cache_stats())

    async def api_error(self, request: Request, exc: Exception) -> Response:
        return self.envelopes.error(request, cast("ApiError", exc))

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """Routing errors (404, 405) get an envelope under ``/api`` and plain text elsewhere."""
        http_exc = cast("HTTPException", exc)
        status, detail, headers = http_exc.status_code, http_exc.detail, http_exc.headers
        if not request.url.path.startswith("/api/"):
            return PlainTextResponse(detail, status_code=status, headers=headers)
        code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
        error = ApiError(status, code, detail, headers)
        return self.envelopes.error(request, error)

    def internal_error(self, scope: Scope) -> Response:
        error = ApiError(500, "internal_error", "the server hit an unexpected error")
        return self.envelopes.error(Request(scope), error)


class _HeaderedSend:
    """Stamps security headers and the request id on the response and remembers its status."""

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self._request_id = request_id
        self.status: int | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = MutableHeaders(scope=message)
            headers.update(SECURITY_HEADERS)
            headers["X-Request-ID"] = self._request_id
        await self._send(message)


class ServiceMiddleware:
    """Request ids, headers, metrics, fault modes and the last-resort 500 for every request.

    It sits inside Starlette's own error middleware so even crash responses carry the headers
    and the envelope instead of a bare "Internal Server Error".
    """

    def __init__(self, app: ASGIApp, service: DemoService) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        headered_send = _HeaderedSend(send, rid)
        started = time.perf_counter()
        try:
            await self._serve(scope, receive, headered_send)
        except Exception:
            if headered_send.status is not None:
                raise
            logger.exception("unhandled error while serving %s %s", scope["method"], scope["path"])
            await self.service.internal_error(scope)(scope, receive, headered_send)
        finally:
            self.service.metrics.observe(
                scope["method"],
                self.service.route_template(scope),
                headered_send.status or 500,
                time.perf_counter() - started,
            )

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"].startswith("/api/"):
            if self.service.options.mode == "slow":
                await asyncio.sleep(self.service.options.slow_delay_ms / 1000)
            if self.service.options.mode == "leaky":
                self.service.leak()
            if self.service.should_fail():
                await self.service.internal_error(scope)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _check_options(options: DemoOptions) -> None:
    if options.mode not in DEMO_MODES:
        raise ValueError(f"unknown demo mode {options.mode!r}; choose one of {DEMO_MODES}")
    if options.slow_delay_ms < 0 or options.flaky_every < 1 or options.leak_kib < 0:
        raise ValueError("slow_delay_ms and leak_kib must be >= 0 and flaky_every >= 1")


def create_app(options: DemoOptions) -> Starlette:
    """Build a fresh service; every app owns its data and metrics so instances never interfere."""
    _check_options(options)
    service = DemoService(options)
    return Starlette(
        routes=service.routes,
        middleware=[Middleware(ServiceMiddleware, service=service)],
        exception_handlers={ApiError: service.api_error, HTTPException: service.http_error},
    )
