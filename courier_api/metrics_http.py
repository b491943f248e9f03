"""`GET /metrics` and the per-request measurements, as raw ASGI around the whole app.

`/metrics` is never for the public API's callers. It answers on the metrics port (METRICS_PORT,
which serves nothing else) and, when METRICS_TOKEN is set, only with `Authorization: Bearer
<token>` (on any port). With neither configured the middleware is not installed at all and
`/metrics` is a 404 like any unknown path.

The request measurement wraps the outermost handler, so router answers (404, 405) count too; the
route label is Litestar's path template (`/v1/orders/{order_id}`), never the raw path.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
from datetime import UTC, datetime

from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from courier_api import metrics as recorder
from courier_api.metrics import UNMATCHED_ROUTE, Metrics, OutboxCollector
from infra.change_feed import ChangeFeed
from infra.database import Database
from infra.errors import DatabaseUnavailable

METRICS_PATH = "/metrics"
# Request tallies and gauges (pool, change feed) of other processes are at most this old when one
# process answers a scrape.
SAMPLE_INTERVAL_S = 1.0
_UNAUTHORIZED = (
    b'{"type":"about:blank","title":"Authentication required","status":401,'
    b'"detail":"metrics need Authorization: Bearer <METRICS_TOKEN>","code":"auth.unauthenticated"}'
)
_NOT_FOUND = b'{"type":"about:blank","title":"Not Found","status":404,"code":"request.not_found"}'


class MetricsEndpoint:
    """Serves the scrape and measures requests for one app; `attach` gives it the lifespan's resources."""

    def __init__(self, metrics: Metrics, *, token: str | None, port: int | None) -> None:
        self.metrics = metrics
        self._token = token.encode() if token else None
        self._port = port
        self._db: Database | None = None
        self._feed: ChangeFeed | None = None

    def attach(self, db: Database, feed: ChangeFeed | None) -> None:
        self._db, self._feed = db, feed

    def sample(self) -> None:
        self.metrics.flush_requests()
        if self._db is None:
            return
        feed = self._feed
        self.metrics.sample(
            self._db.usage(),
            feed_live=None if feed is None else feed.live,
            feed_event_at=None if feed is None else feed.last_event_at,
        )

    async def sample_forever(self) -> None:
        """Keep this process's gauges fresh for scrapes answered by another process."""
        while True:
            self.sample()
            await asyncio.sleep(SAMPLE_INTERVAL_S)

    async def render(self) -> bytes:
        """The exposition text: every process's metrics plus the outbox backlog read now."""
        self.sample()
        extra: list[Collector] = []
        if self._db is not None:
            # No backlog gauges while the database is down: absent series, not stale numbers.
            with contextlib.suppress(DatabaseUnavailable):
                async with self._db.read() as uow:
                    extra.append(OutboxCollector(await uow.outbox.backlog(datetime.now(UTC))))
        registry = self.metrics.registry(extra)
        # Reading every process's files is blocking file I/O: off the event loop.
        return await asyncio.to_thread(generate_latest, registry)

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """Answer `/metrics` where allowed; time every other request by route template and status."""
        metrics, port = self.metrics, self._port

        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if str(scope["type"]) != "http":
                await app(scope, receive, send)
                return
            http_scope: HTTPScope = scope  # type: ignore[assignment]
            on_metrics_port = port is not None and (http_scope.get("server") or ("", 0))[1] == port
            if http_scope["path"] == METRICS_PATH and (on_metrics_port or self._token is not None):
                await self._scrape(http_scope, send)
                return
            if on_metrics_port:
                await _answer(send, 404, _NOT_FOUND, b"application/problem+json")
                return
            started = time.perf_counter()
            status = 500  # the app raised before answering

            async def send_status(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, send_status)
            finally:
                route = scope.get("path_template") or UNMATCHED_ROUTE
                metrics.observe_request(http_scope["method"], route, status, time.perf_counter() - started)

        return middleware

    async def _scrape(self, scope: HTTPScope, send: Send) -> None:
        presented = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                presented = value
        if not self.authorized(presented):
            await _answer(
                send, 401, _UNAUTHORIZED, b"application/problem+json", [(b"www-authenticate", b"Bearer")]
            )
            return
        await _answer(send, 200, await self.render(), CONTENT_TYPE_LATEST.encode())

    def authorized(self, authorization: bytes) -> bool:
        """True without a configured token (the metrics port alone decides), else a matching bearer token."""
        if self._token is None:
            return True
        scheme, _, credential = authorization.partition(b" ")
        # Constant time: the comparison must not tell how much of a guess was right.
        return scheme.lower() == b"bearer" and hmac.compare_digest(credential.strip(), self._token)


def uploads_in_flight(app: ASGIApp) -> ASGIApp:
    """Route middleware for the photo upload: counts it from the first header to the last byte out."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        with recorder.upload_in_flight():
            await app(scope, receive, send)

    return middleware


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
