"""`/metrics` of the outbox worker (`courier-api worker`), which has no HTTP server of its own.

A deliberately small HTTP/1.1 responder on METRICS_PORT, in the worker's event loop: one GET per
connection, `/metrics` or 404, the bearer token checked when METRICS_TOKEN is set. It renders the
same `MetricsEndpoint` as the API (deliveries, pool, outbox backlog read at scrape time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

from courier_api import metrics as recorder
from courier_api.metrics import MULTIPROC_ENV, Metrics
from courier_api.metrics_http import METRICS_PATH, MetricsEndpoint
from infra.database import Database
from infra.settings import Settings

_MAX_HEAD_BYTES = 16_384
_READ_TIMEOUT_S = 5.0
_log = logging.getLogger("courier_api.metrics")


@contextlib.asynccontextmanager
async def serve_worker_metrics(settings: Settings, db: Database) -> AsyncIterator[None]:
    """Record the worker's metrics, and serve them on METRICS_PORT when it is set."""
    if settings.metrics_port is None:
        yield
        return
    # One process: plain values. A PROMETHEUS_MULTIPROC_DIR inherited from a shell belongs to a server.
    os.environ.pop(MULTIPROC_ENV, None)
    endpoint = MetricsEndpoint(Metrics(), token=settings.metrics_token, port=settings.metrics_port)
    endpoint.attach(db, None)
    recorder.install(endpoint.metrics)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
            status, body, content_type = await _respond(endpoint, head)
            writer.write(
                f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
                "cache-control: no-store\r\nconnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(
        answer, settings.metrics_host, settings.metrics_port, limit=_MAX_HEAD_BYTES
    )
    _log.info("worker metrics on %s:%d%s", settings.metrics_host, settings.metrics_port, METRICS_PATH)
    try:
        yield
    finally:
        server.close()
        await server.wait_closed()
        recorder.install(None)


async def _respond(endpoint: MetricsEndpoint, head: bytes) -> tuple[str, bytes, str]:
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, _, rest = request_line.partition(" ")
    target = rest.partition(" ")[0]
    if method != "GET" or target != METRICS_PATH:
        return "404 Not Found", b"not found\n", "text/plain"
    authorization = b""
    for line in header_lines:
        name, _, value = line.partition(":")
        if name.strip().lower() == "authorization":
            authorization = value.strip().encode("latin-1")
    if not endpoint.authorized(authorization):
        return "401 Unauthorized", b"metrics need Authorization: Bearer <METRICS_TOKEN>\n", "text/plain"
    body = await endpoint.render()
    return "200 OK", body, "text/plain; version=0.0.4; charset=utf-8"
