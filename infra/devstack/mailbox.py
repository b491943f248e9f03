"""The dev stack's mailbox: an SMTP sink and a webhook receiver on 127.0.0.1 that keep what the outbox sent.

`courier-api dev` points its outbox worker at these two (unless SMTP_HOST / WEBHOOK_URL say otherwise),
prints one line per arrival, and shows them at `GET /dev/notifications`. The webhook receiver checks the
Standard Webhooks signature with `verify_webhook`, as a real receiver must, and keeps the verdict: a
request that fails it is shown (and answered 401) rather than hidden. Nothing here is used by `serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import msgspec
from aiosmtpd.controller import Controller

from infra.channels.webhook import verify_webhook
from infra.devstack.ports import free_port

# A dev stack left running for days must not grow without bound; the newest entries are the useful ones.
KEPT_ENTRIES = 200
MAX_WEBHOOK_BODY_BYTES = 1_000_000
_READ_TIMEOUT_S = 10.0


class DevEmail(msgspec.Struct, frozen=True, kw_only=True):
    """One message the SMTP sink took, decoded as a mail client would show it."""

    received_at: datetime
    sender: str
    recipient: str
    subject: str
    body: str
    event: str  # the X-DoorDrop-Event-Id header: the outbox row's dedupe key


class DevWebhook(msgspec.Struct, frozen=True, kw_only=True):
    """One request the webhook receiver got, with what its signature check said."""

    received_at: datetime
    webhook_id: str
    event_type: str
    order_id: str
    signature_valid: bool
    payload: str  # the JSON body, pretty-printed (or as received when it is not JSON)


class DevMailbox:
    """Both receivers; `emails` and `webhooks` are snapshots, newest last. `announce` gets one line each."""

    def __init__(
        self, *, webhook_secret: str, announce: Callable[[str], None], smtp: bool = True, webhook: bool = True
    ) -> None:
        self.webhook_secret = webhook_secret
        self._announce = announce
        self._lock = threading.Lock()  # the SMTP sink runs in its own thread
        self._emails: deque[DevEmail] = deque(maxlen=KEPT_ENTRIES)
        self._webhooks: deque[DevWebhook] = deque(maxlen=KEPT_ENTRIES)
        self.smtp_port: int | None = free_port() if smtp else None
        self._controller = (
            Controller(_Sink(self), hostname="127.0.0.1", port=self.smtp_port)
            if self.smtp_port is not None
            else None
        )
        self._serve_webhooks = webhook
        self._server: asyncio.Server | None = None

    @property
    def webhook_url(self) -> str | None:
        if self._server is None:
            return None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks/door-drop"

    @property
    def emails(self) -> list[DevEmail]:
        with self._lock:
            return list(self._emails)

    @property
    def webhooks(self) -> list[DevWebhook]:
        with self._lock:
            return list(self._webhooks)

    async def start(self) -> None:
        # aiosmtpd logs every connection at INFO ("Peer", "EOF received"...): the terminal gets our one
        # line per notification instead.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        if self._controller is not None:
            # Starting waits for the sink's thread to answer; not on the event loop.
            await asyncio.to_thread(self._controller.start)
        if self._serve_webhooks:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._controller is not None:
            await asyncio.to_thread(self._controller.stop)

    def took_email(self, content: bytes) -> None:
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        text = message.get_body(preferencelist=("plain",))
        email = DevEmail(
            received_at=datetime.now(UTC),
            sender=str(message["From"] or ""),
            recipient=str(message["To"] or ""),
            subject=str(message["Subject"] or ""),
            body=text.get_content() if isinstance(text, EmailMessage) else "",
            event=str(message["X-DoorDrop-Event-Id"] or ""),
        )
        with self._lock:
            self._emails.append(email)
        self._announce(f"email   to {email.recipient}: {email.subject}")

    def took_webhook(self, headers: dict[str, str], body: bytes) -> bool:
        valid = verify_webhook(self.webhook_secret, headers, body, datetime.now(UTC))
        payload: Any = None
        with contextlib.suppress(ValueError):
            payload = json.loads(body)
        fields = payload if isinstance(payload, dict) else {}
        hook = DevWebhook(
            received_at=datetime.now(UTC),
            webhook_id=headers.get("webhook-id", ""),
            event_type=str(fields.get("eventType", "")),
            order_id=str(fields.get("orderId", "")),
            signature_valid=valid,
            payload=(
                json.dumps(payload, ensure_ascii=False, indent=2)
                if payload is not None
                else body.decode(errors="replace")
            ),
        )
        with self._lock:
            self._webhooks.append(hook)
        verdict = "signature valid" if valid else "SIGNATURE INVALID"
        title = str(fields.get("title", ""))
        self._announce(f"webhook {hook.event_type} {hook.order_id} ({verdict}): {title}")
        return valid

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # One request per connection, as the outbox's sender makes them; bounded in size and time.
        status = 400
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    name.strip().lower(): value.strip()
                    for name, _, value in (line.partition(":") for line in lines[1:] if line)
                }
                length = headers.get("content-length", "0")
                if length.isdigit() and int(length) <= MAX_WEBHOOK_BODY_BYTES:
                    body = await reader.readexactly(int(length))
                    status = 200 if self.took_webhook(headers, body) else 401
                else:
                    status = 413
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()


class _Sink:
    """aiosmtpd's handler: every message is taken (250) and handed to the mailbox."""

    def __init__(self, mailbox: DevMailbox) -> None:
        self._mailbox = mailbox

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self._mailbox.took_email(bytes(envelope.content))
        return "250 OK"
