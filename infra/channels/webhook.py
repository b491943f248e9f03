"""The signed webhook to the company's push/SMS gateway.

Signing: `X-DoorDrop-Signature: v1=<hex>` where hex is HMAC-SHA256(secret, f"{timestamp}.{body}"),
`timestamp` being the `X-DoorDrop-Timestamp` header (Unix seconds) and `body` the raw request body.

A receiver rejects replays in two steps (`verify_webhook` does the first):
1. Refuse a timestamp further than `tolerance_s` (default 5 minutes) from its own clock, so a captured
   request stops being valid soon after it was sent.
2. Remember `X-DoorDrop-Event-Id` (the dedupe key `{event_id}:{channel}`) for at least that tolerance plus
   our longest retry horizon, and answer 2xx without acting again on an id it has seen: we deliver at least
   once, so a legitimate retry carries the same id with a new timestamp and signature.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import datetime

import httpx
import msgspec

from infra.channels import DeliveryFailed, Notification

SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300.0
# Statuses worth another try; any other 4xx means the request itself is wrong and will stay wrong.
_RETRYABLE_STATUSES = frozenset({408, 425, 429})


class WebhookBody(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    event_id: str
    dedupe_key: str
    event_type: str
    occurred_at: datetime
    order_id: str
    customer_id: str
    locale: str
    phone: str | None
    title: str
    text: str
    url: str
    data: dict[str, object]


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for this timestamp and raw body."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={mac.hexdigest()}"


def verify_webhook(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    now: datetime,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """True when the signature matches and the timestamp is within tolerance of `now` (receivers' check).

    `signature` may list several comma-separated `v1=` values, so the secret can be rotated.
    Remembering event ids (the second half of replay protection) is the receiver's job.
    """
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    if abs(now.timestamp() - sent_at) > tolerance_s:
        return False
    expected = sign_webhook(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate.strip()) for candidate in signature.split(","))


class WebhookChannel:
    """POSTs one JSON body per notification; 2xx is delivered, 5xx/timeouts are retried."""

    name = "webhook"

    def __init__(
        self,
        *,
        url: str,
        secret: str,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._url = url
        self._secret = secret
        # The signing time is the real wall clock: the receiver compares it with its own.
        self._wall_clock = wall_clock
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_s), transport=transport, follow_redirects=False
        )

    def skip_reason(self, notification: Notification) -> str | None:
        return None

    async def send(self, notification: Notification) -> None:
        body = msgspec.json.encode(
            WebhookBody(
                event_id=str(notification.event_id),
                dedupe_key=notification.dedupe_key,
                event_type=notification.event_type,
                occurred_at=notification.occurred_at,
                order_id=notification.order_id,
                customer_id=notification.customer_id,
                locale=notification.locale,
                phone=notification.phone,
                title=notification.subject,
                text=notification.body,
                url=notification.link,
                data=notification.data,
            )
        )
        timestamp = str(int(self._wall_clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "door-drop-outbox/1",
            "X-DoorDrop-Timestamp": timestamp,
            "X-DoorDrop-Signature": sign_webhook(self._secret, timestamp, body),
            "X-DoorDrop-Event-Id": notification.dedupe_key,
            "X-DoorDrop-Event-Type": notification.event_type,
        }
        try:
            response = await self._client.post(self._url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"webhook timeout ({type(exc).__name__})", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook unreachable ({type(exc).__name__})", retryable=True) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        retryable = status >= 500 or status in _RETRYABLE_STATUSES
        raise DeliveryFailed(f"webhook answered HTTP {status}", retryable=retryable)

    async def aclose(self) -> None:
        await self._client.aclose()
