"""Real receivers on 127.0.0.1 for the outbox channels: a signed-webhook endpoint and an SMTP server.

The webhook receiver does what a production receiver should: verify the Standard Webhooks signature and
timestamp with `verify_webhook`, and answer 2xx without acting again for a `webhook-id` it has already seen.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import msgspec
from aiosmtpd.controller import Controller

from infra.channels.webhook import verify_webhook
from infra.devstack.ports import free_port


class WebhookDelivery(msgspec.Struct, frozen=True, kw_only=True):
    dedupe_key: str
    event_type: str
    body: dict[str, Any]


class WebhookReceiver:
    """A tiny HTTP/1.1 server (one request per connection) that records what it accepted."""

    def __init__(self, secret: str | Sequence[str], *, tolerance_s: float = 300.0) -> None:
        self._secret = secret
        # The value for WEBHOOK_SECRETS of a sender that this receiver accepts.
        self.secret = secret if isinstance(secret, str) else " ".join(secret)
        self._tolerance_s = tolerance_s
        self._server: asyncio.Server | None = None
        self._fail_next = 0
        self._fail_status = 503
        self.accepted: list[WebhookDelivery] = []
        # Every request that passed the signature check, in arrival order, including failed and repeated ones.
        self.requests: list[str] = []
        self.duplicates: list[str] = []
        self.bad_signatures = 0
        # Raw (headers, body) of every request that arrived, as an eavesdropper would have captured it.
        self.captured: list[tuple[dict[str, str], bytes]] = []
        self.arrivals = 0
        self._gate = asyncio.Event()
        self._gate.set()
        self._arrived = asyncio.Condition()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks/door-drop"

    def fail_next(self, count: int, *, status: int = 503) -> None:
        """Answer the next `count` valid requests with `status` instead of accepting them."""
        self._fail_next = count
        self._fail_status = status

    def hold(self) -> None:
        """Keep every request that arrives waiting (unanswered, unprocessed) until `release`."""
        self._gate.clear()

    def release(self) -> None:
        self._gate.set()

    def requests_for(self, key: str) -> int:
        return self.requests.count(key)

    def accepted_for(self, key: str) -> list[WebhookDelivery]:
        return [delivery for delivery in self.accepted if delivery.dedupe_key == key]

    async def wait_for(self, key: str) -> WebhookDelivery:
        """Until a delivery with this dedupe key is accepted (wrap in a timeout)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: bool(self.accepted_for(key)))
        return self.accepted_for(key)[0]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:] if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.arrivals += 1
            self.captured.append((headers, body))
            await self._gate.wait()
            status = self._answer(headers, body)
            async with self._arrived:
                self._arrived.notify_all()
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _answer(self, headers: dict[str, str], body: bytes) -> int:
        if not verify_webhook(self._secret, headers, body, datetime.now(UTC), self._tolerance_s):
            self.bad_signatures += 1
            return 401
        # The signed id, not anything else in the request: only it cannot be changed by a replayer.
        key = headers["webhook-id"]
        self.requests.append(key)
        if self._fail_next > 0:
            self._fail_next -= 1
            return self._fail_status
        if any(delivery.dedupe_key == key for delivery in self.accepted):
            # Seen before: acknowledge so the sender stops, but do not act twice.
            self.duplicates.append(key)
            return 200
        payload = json.loads(body)
        self.accepted.append(WebhookDelivery(dedupe_key=key, event_type=payload["eventType"], body=payload))
        return 200


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1 in its own thread; `messages` holds every message it took."""

    def __init__(self) -> None:
        self._inbox = _Inbox()
        self.port = free_port()
        self._controller = Controller(self._inbox, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        return self._inbox.messages

    def messages_for(self, key: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["X-DoorDrop-Event-Id"] == key]

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
